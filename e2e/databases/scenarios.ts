// The provisioning behaviour both engines must show on a real server; e2e/integration/database-*.test.ts
// run it once per engine.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  type AdminConnection,
  computeDatabaseName,
  computeUsername,
  createEngine,
  type DatabaseEngine,
  type DatabaseEngineName,
  generatePassword,
  InvalidIdentifierError,
  OwnershipConflictError,
} from '../../operator/src/database/index.ts';
import { HAND_MADE_CARD, inspectServer, type ServerInspector } from './inspect.ts';
import { databaseServer } from './servers.ts';

/** Whether `error` is the server refusing the login itself (wrong password). */
function isAuthFailure(engine: DatabaseEngineName, error: unknown): boolean {
  const e = error as { code?: string; errno?: number };
  return engine === 'postgres' ? e.code === '28P01' : e.errno === 1045;
}

/** Whether `error` is the server refusing a known role access to a database. */
function isDatabaseAccessDenied(engine: DatabaseEngineName, error: unknown): boolean {
  const e = error as { code?: string; errno?: number };
  return engine === 'postgres' ? e.code === '42501' : e.errno === 1044;
}

export function describeProvisioning(engine: DatabaseEngineName): void {
  const label = engine === 'postgres' ? 'PostgreSQL' : 'MariaDB (mysql engine)';
  // Names of this run only, so parallel and repeated runs never collide.
  const prefix = `flt_${engine === 'postgres' ? 'pg' : 'my'}_${randomBytes(4).toString('hex')}_`;
  // The MicroService every database of this run is marked as belonging to.
  const owner = `flotilla-test/${prefix.replaceAll('_', '-').slice(0, -1)}`;
  const service = (suffix: string) => ({
    database: `${prefix}${suffix}`,
    username: `${prefix}${suffix}`,
    password: generatePassword(),
    owner,
  });

  describe(`database provisioning on a real ${label}`, () => {
    let admin: AdminConnection;
    let db: DatabaseEngine;
    let server: ServerInspector;

    before(async () => {
      admin = await databaseServer(engine);
      db = createEngine({ ...admin, maxConnections: 3 });
      server = await inspectServer(admin);
    });

    after(async () => {
      try {
        if (!server) return; // `before` failed and said why
        for (const name of await server.databaseNames(prefix)) {
          await db.dropDatabase({ database: name, username: computeUsername(engine, name), owner });
        }
        for (const name of await server.roleNames(prefix))
          await db.dropDatabase({ database: name, username: name, owner });
        // What the tests made by hand, or marked as another MicroService's.
        const left = [...(await server.databaseNames(prefix)), ...(await server.roleNames(prefix))];
        for (const name of new Set(left)) await server.dropByHand(name);
      } finally {
        await server?.close();
        await db?.close();
      }
    });

    it('reports the server version to the admin', async () => {
      const check = await db.checkConnection();
      assert.equal(check.ok, true, JSON.stringify(check));
      assert.match(check.ok ? check.serverVersion : '', engine === 'postgres' ? /^\d+\.\d+/ : /MariaDB|^\d+\.\d+/);
    });

    it('creates exactly one database and one role, and a second call issues no DDL', async () => {
      const a = service('once');
      const first = await db.ensureDatabase(a);
      assert.deepEqual(
        first.actions,
        engine === 'postgres'
          ? ['CreateRole', 'CreateDatabase', 'RevokePublicConnect']
          : ['CreateRole', 'CreateDatabase', 'GrantPrivileges'],
      );
      assert.deepEqual(await server.databaseNames(a.database), [a.database]);
      assert.deepEqual(await server.roleNames(a.username), [a.username]);
      const stored = await server.storedPassword(a.username);

      const second = await db.ensureDatabase(a);
      assert.deepEqual(second.actions, [], 'the second call must find everything in place');
      assert.equal(await server.storedPassword(a.username), stored, 'the password was not set again');
      assert.deepEqual(await server.databaseNames(a.database), [a.database]);
      assert.deepEqual(await server.roleNames(a.username), [a.username]);
    });

    it('lets a service use its own database and not another service’s', async () => {
      const a = service('alpha');
      const b = service('beta');
      await db.ensureDatabase(a);
      await db.ensureDatabase(b);

      const session = await server.loginAs(a);
      try {
        await session.query('CREATE TABLE notes (id INT PRIMARY KEY, body VARCHAR(40))');
        await session.query("INSERT INTO notes VALUES (1, 'written by alpha')");
        assert.deepEqual(await session.query('SELECT body FROM notes'), [{ body: 'written by alpha' }]);
      } finally {
        await session.close();
      }

      await assert.rejects(
        server.loginAs({ ...a, database: b.database }),
        (error: unknown) => isDatabaseAccessDenied(engine, error),
        'alpha’s role must not reach beta’s database',
      );
      await assert.rejects(server.loginAs({ ...b, password: a.password }), (error: unknown) =>
        isAuthFailure(engine, error),
      );
    });

    it('sets the role’s password to match a changed Secret', async () => {
      const a = service('rotate');
      await db.ensureDatabase(a);
      const rotated = { ...a, password: generatePassword() };
      assert.deepEqual((await db.ensureDatabase(rotated)).actions, ['SetRolePassword']);
      assert.deepEqual((await db.ensureDatabase(rotated)).actions, []);
      await assert.rejects(server.loginAs(a), (error: unknown) => isAuthFailure(engine, error));
      await (await server.loginAs(rotated)).close();
    });

    it('repairs what a crash left half done', async () => {
      const a = service('halfway');
      // A role created by an earlier attempt that crashed before the database, with another password.
      await db.ensureDatabase({ ...a, password: generatePassword() });
      await db.dropDatabase({ database: a.database, username: `${prefix}nobody`, owner });
      assert.deepEqual(await server.databaseNames(a.database), []);
      assert.deepEqual(
        (await db.ensureDatabase(a)).actions,
        engine === 'postgres'
          ? ['SetRolePassword', 'CreateDatabase', 'RevokePublicConnect']
          : ['SetRolePassword', 'CreateDatabase'],
      );
      await (await server.loginAs(a)).close();
    });

    it('drops the database and the role, and a second drop finds nothing to do', async () => {
      const a = service('dropped');
      await db.ensureDatabase(a);
      const open = await server.loginAs(a); // an open session does not block the drop
      try {
        assert.deepEqual((await db.dropDatabase(a)).actions, ['DropDatabase', 'DropRole']);
      } finally {
        await open.close().catch(() => {});
      }
      assert.deepEqual(await server.databaseNames(a.database), []);
      assert.deepEqual(await server.roleNames(a.username), []);
      assert.deepEqual((await db.dropDatabase(a)).actions, []);
    });

    it('uses one bounded pool: many provisions at once never open more connections than its limit', async () => {
      const bounded = createEngine({ ...admin, maxConnections: 2 });
      const baseline = await server.adminSessions();
      let peak = baseline;
      let running = true;
      const sampler = (async () => {
        while (running) {
          peak = Math.max(peak, await server.adminSessions());
          await new Promise((resolve) => setTimeout(resolve, 2));
        }
      })();
      try {
        const services = Array.from({ length: 8 }, (_, n) => service(`burst${n}`));
        const results = await Promise.all(services.map((s) => bounded.ensureDatabase(s)));
        assert.equal(
          results.every((r) => r.actions.includes('CreateDatabase')),
          true,
        );
        assert.equal((await server.databaseNames(`${prefix}burst`)).length, 8);
      } finally {
        running = false;
        await sampler;
        await bounded.close();
      }
      assert.equal(peak - baseline <= 2, true, `peak ${peak} admin sessions over a baseline of ${baseline}`);
      assert.equal(peak > baseline, true, 'the sampler saw the pool at work');
    });

    if (engine === 'postgres') {
      it('works for an admin that is not a superuser (CREATEROLE, CREATEDB), as on managed servers', async () => {
        const limited = { ...admin, username: `${prefix}admin`, password: generatePassword(), maxConnections: 1 };
        await server.execute(
          `CREATE ROLE ${limited.username} LOGIN CREATEROLE CREATEDB PASSWORD '${limited.password}'`,
        );
        const asLimited = createEngine(limited);
        try {
          const a = service('managed');
          assert.deepEqual((await asLimited.ensureDatabase(a)).actions, [
            'CreateRole',
            'GrantRoleToAdmin',
            'CreateDatabase',
            'RevokePublicConnect',
          ]);
          assert.deepEqual((await asLimited.ensureDatabase(a)).actions, []);
          const rotated = { ...a, password: generatePassword() };
          assert.deepEqual((await asLimited.ensureDatabase(rotated)).actions, ['SetRolePassword']);
          await (await server.loginAs(rotated)).close();
          assert.deepEqual((await asLimited.dropDatabase(a)).actions, ['DropDatabase', 'DropRole']);
        } finally {
          await asLimited.close();
        }
      });
    }

    it('says why a wrong admin password fails, without the password', async () => {
      const wrongPassword = `wrong-${generatePassword()}`;
      const wrong = createEngine({ ...admin, password: wrongPassword, maxConnections: 1 });
      try {
        const check = await wrong.checkConnection();
        assert.equal(check.ok, false);
        if (check.ok) return;
        assert.equal(check.reason, 'AuthenticationFailed');
        assert.match(check.message, new RegExp(`${admin.host}:${admin.port}`));
        assert.equal(check.message.includes(wrongPassword), false, check.message);
        assert.equal(check.message.includes(admin.password), false);
        await assert.rejects(
          wrong.ensureDatabase(service('denied')),
          (error: Error) => !error.message.includes(wrongPassword),
        );
      } finally {
        await wrong.close();
      }
    });

    it('says when nothing listens at the address', async () => {
      const nowhere = createEngine({ ...admin, port: 1, maxConnections: 1 });
      try {
        const check = await nowhere.checkConnection();
        assert.deepEqual(check.ok ? 'connected' : check.reason, 'ConnectionRefused');
      } finally {
        await nowhere.close();
      }
    });

    it('rejects hostile names before any SQL, and the server is untouched', async () => {
      for (const database of [
        `${prefix}x"; DROP DATABASE postgres; --`,
        `${prefix}x\`; DROP DATABASE mysql; --`,
        "x'@'%",
      ]) {
        await assert.rejects(
          db.ensureDatabase({ database, username: `${prefix}ok`, password: 'p', owner }),
          InvalidIdentifierError,
        );
        await assert.rejects(db.dropDatabase({ database, username: `${prefix}ok`, owner }), InvalidIdentifierError);
      }
      await assert.rejects(
        db.ensureDatabase({ database: `${prefix}ok`, username: admin.username, password: 'p', owner }),
        /admin user/,
      );
      assert.deepEqual(await server.databaseNames(`${prefix}x`), []);
      assert.deepEqual(await server.databaseNames(`${prefix}ok`), []);
      assert.deepEqual(await server.roleNames(`${prefix}ok`), []);
      assert.equal((await db.checkConnection()).ok, true);
    });

    it('provisions the most hostile name the API lets through, and a password full of URL characters', async () => {
      // DNS-1123: a 63-character namespace and a 253-character name of dots and dashes.
      const namespace = `${prefix.replaceAll('_', '-')}${'n'.repeat(40)}`.slice(0, 63).replace(/-+$/, '');
      const name = `a-.${'b-'.repeat(60)}${'c.'.repeat(60)}z`.slice(0, 253);
      const database = computeDatabaseName(engine, namespace, name);
      const username = computeUsername(engine, database);
      const password = `p@ss:/?#[]%'"\\;${generatePassword()}`;
      assert.deepEqual((await db.ensureDatabase({ database, username, password, owner })).actions.length > 0, true);
      await (await server.loginAs({ database, username, password })).close();
      assert.deepEqual((await db.ensureDatabase({ database, username, password, owner })).actions, []);
      assert.deepEqual((await db.dropDatabase({ database, username, owner })).actions, ['DropDatabase', 'DropRole']);
    });
    describe('tenancy: what Flotilla did not create is never altered', () => {
      const dbaPassword = `dba-${randomBytes(6).toString('hex')}`;
      const cardNumber = HAND_MADE_CARD;

      const makeByHand = (name: string, powers = '') => server.makeByHand(name, dbaPassword, powers);

      const hostile = (name: string, adopt = false) => ({
        database: name,
        username: name,
        password: generatePassword(),
        owner: 'evil-tenant/thief',
        adopt,
      });

      it('leaves a hand-made database and role exactly as they were when another MicroService names them', async () => {
        const name = `${prefix}legacy`;
        await makeByHand(name);
        const before = await server.snapshot(name, name, 'cards');
        const refused = (error: unknown) =>
          error instanceof OwnershipConflictError &&
          error.markedOwner === undefined &&
          error.message === `database ${name} exists and was not created by Flotilla`;
        await assert.rejects(db.checkOwnership(hostile(name)), refused);
        await assert.rejects(db.ensureDatabase(hostile(name)), refused);
        assert.deepEqual((await db.dropDatabase(hostile(name))).actions, [], 'nothing of it is dropped');
        assert.deepEqual(await server.snapshot(name, name, 'cards'), before);
        const dba = await server.loginAs({ database: name, username: name, password: dbaPassword });
        await dba.close();
      });

      it('leaves a hand-made role alone even when no database of the name exists, and creates none', async () => {
        const name = `${prefix}lonerole`;
        await server.execute(
          engine === 'postgres'
            ? `CREATE ROLE ${name} LOGIN PASSWORD '${dbaPassword}'`
            : `CREATE USER '${name}'@'%' IDENTIFIED BY '${dbaPassword}'`,
        );
        const stored = await server.storedPassword(name);
        await assert.rejects(db.ensureDatabase(hostile(name)), OwnershipConflictError);
        assert.deepEqual(await server.databaseNames(name), [], 'no database was created');
        assert.equal(await server.storedPassword(name), stored, 'the password hash is unchanged');
      });

      it('adopts a hand-made database when allowed: the mark is written, and then it is that service’s', async () => {
        const name = `${prefix}adopted`;
        await makeByHand(name);
        const request = { ...hostile(name, true), owner: 'legacy/orders' };
        const { actions } = await db.ensureDatabase(request);
        assert.ok(actions.includes('AdoptRole') && actions.includes('AdoptDatabase'), actions.join(','));
        const session = await server.loginAs(request);
        try {
          assert.deepEqual(
            (await session.query('SELECT number FROM cards')).map((row) => row.number),
            [cardNumber],
          );
        } finally {
          await session.close();
        }
        await assert.rejects(server.loginAs({ database: name, username: name, password: dbaPassword }));
        assert.deepEqual(
          (await db.ensureDatabase({ ...request, adopt: false })).actions,
          [],
          'now it carries the mark',
        );
        await assert.rejects(
          db.ensureDatabase({ ...request, owner: 'evil-tenant/thief', adopt: true }),
          (error: unknown) => error instanceof OwnershipConflictError && error.markedOwner === 'legacy/orders',
        );
      });

      it('never adopts a role (user) with administrative privileges, even when adoption is allowed', async () => {
        const name = `${prefix}power`;
        await makeByHand(name, engine === 'postgres' ? 'CREATEDB' : 'SELECT');
        const before = await server.snapshot(name, name, 'cards');
        await assert.rejects(
          db.ensureDatabase(hostile(name, true)),
          (error: unknown) => error instanceof OwnershipConflictError && error.privileged,
        );
        assert.deepEqual(await server.snapshot(name, name, 'cards'), before);
      });

      it('refuses a database made for one MicroService to another, even where adoption is allowed', async () => {
        const a = service('taken');
        await db.ensureDatabase(a);
        const stored = await server.storedPassword(a.username);
        await assert.rejects(
          db.ensureDatabase({ ...a, password: generatePassword(), owner: 'evil-tenant/thief', adopt: true }),
          (error: unknown) => error instanceof OwnershipConflictError && error.markedOwner === owner,
        );
        assert.deepEqual((await db.dropDatabase({ ...a, owner: 'evil-tenant/thief' })).actions, []);
        assert.equal(await server.storedPassword(a.username), stored);
        await (await server.loginAs(a)).close();
      });

      it('refuses the admin, the server’s own names and Flotilla’s marks before any SQL', async () => {
        const system = [engine === 'postgres' ? 'postgres' : 'mysql', '_flotilla', 'information_schema'];
        for (const username of [admin.username, ...system]) {
          await assert.rejects(
            db.checkOwnership({ ...hostile(username, true), database: `${prefix}fine` }),
            InvalidIdentifierError,
          );
        }
        for (const database of system) {
          await assert.rejects(
            db.checkOwnership({ ...hostile(database, true), username: `${prefix}fine` }),
            InvalidIdentifierError,
          );
        }
        assert.deepEqual(await server.databaseNames(`${prefix}fine`), []);
        assert.equal((await db.checkConnection()).ok, true);
      });
    });
  });
}
