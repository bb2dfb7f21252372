// Database provisioning through the MicroService reconcile, on the real API server and the real
// PostgreSQL and MariaDB of `npm run databases`: the shop samples get their databases; credentials
// work and are isolated; a second reconcile issues no DDL; Delete drops, Retain keeps; the most
// hostile name provisions safely; a server down at provisioning and at deletion; DatabaseServer
// status; the password nowhere in logs, Events or status.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { databaseServerType } from '../../operator/src/controllers/microservice/resources.ts';
import { inspectServer, type ServerInspector } from '../databases/inspect.ts';
import { connectToCluster } from '../support/cluster.ts';
import { eventually } from '../support/eventually.ts';
import { ensureNamespace, installCrds } from './api-support.ts';
import {
  createTestServer,
  databaseSecret,
  type RunningDatabaseControllers,
  startDatabaseControllers,
  type TestServer,
} from './database-support.ts';
import {
  conditionOf,
  eventsFor,
  freshNamespace,
  getJson,
  kubectlApply,
  microServiceManifest,
  releaseFinalizers,
  shopSamples,
} from './microservice-support.ts';

const cluster = await connectToCluster();
const namespace = freshNamespace('ms-db');
const adminNamespace = `${namespace}-admin`;
const dbPrefix = namespace.replaceAll('-', '_');
const pgName = `${namespace}-pg`;
const myName = `${namespace}-my`;
/** A DatabaseServer whose port nothing listens on (the server is "down"). */
const downName = `${namespace}-down`;
const badAuthName = `${namespace}-badauth`;

type MicroServiceJson = {
  metadata: { finalizers?: string[] };
  status?: { database?: { serverRef?: string; name?: string; secretName?: string }; conditions?: unknown[] };
};

async function waitDatabaseReady(name: string, timeoutMs = 60_000): Promise<void> {
  await eventually(
    `${name} DatabaseReady`,
    async () => {
      const condition = await conditionOf(cluster, namespace, name, 'DatabaseReady');
      assert.equal(condition?.status, 'True', JSON.stringify(condition));
    },
    { timeoutMs },
  );
}

async function allEventsText(): Promise<string> {
  return cluster.kubectl(['-n', namespace, 'get', 'events', '-o', 'json']);
}

describe('MicroService databases on real servers', () => {
  let running: RunningDatabaseControllers;
  let pg: TestServer;
  let my: TestServer;
  let pgServer: ServerInspector;
  let myServer: ServerInspector;
  const passwords: string[] = [];

  before(async () => {
    await installCrds(cluster);
    await ensureNamespace(cluster, namespace);
    pg = await createTestServer(cluster, 'postgres', pgName, adminNamespace);
    my = await createTestServer(cluster, 'mysql', myName, adminNamespace);
    await createTestServer(cluster, 'postgres', downName, adminNamespace, { port: 1 });
    await createTestServer(cluster, 'postgres', badAuthName, adminNamespace, { password: 'not-the-admin-password' });
    pgServer = await inspectServer(pg.admin);
    myServer = await inspectServer(my.admin);
    running = await startDatabaseControllers(cluster, namespace, { reclaimTimeoutMs: 4_000 });
  });

  after(async () => {
    await running?.stop();
    // Whatever this run left on the servers (Retain, a test that failed half-way).
    for (const [server, engine] of [
      [pgServer, 'postgres'],
      [myServer, 'mysql'],
    ] as const) {
      if (!server) continue;
      for (const name of await server.databaseNames(dbPrefix)) {
        await server.execute(
          engine === 'postgres' ? `DROP DATABASE "${name}" WITH (FORCE)` : `DROP DATABASE \`${name}\``,
        );
      }
      for (const name of await server.roleNames(dbPrefix)) {
        await server.execute(engine === 'postgres' ? `DROP ROLE "${name}"` : `DROP USER '${name}'@'%'`);
      }
      await server.close();
    }
    // Let the finalizers go before the namespace is deleted (the controllers are stopped).
    await releaseFinalizers(cluster, namespace);
    await cluster.kubectl(['delete', 'namespace', namespace, adminNamespace, '--wait=false', '--ignore-not-found']);
    await cluster.kubectl(['delete', 'databaseserver', pgName, myName, downName, badAuthName, '--ignore-not-found']);
  });

  it('reports each DatabaseServer: Ready with serverVersion, or why not', { timeout: 60_000 }, async () => {
    type Server = {
      status?: {
        serverVersion?: string;
        observedGeneration?: number;
        conditions?: { type: string; status: string; reason: string; message: string }[];
      };
    };
    for (const name of [pgName, myName]) {
      await eventually(`${name} Ready`, async () => {
        const server = await getJson<Server>(cluster, ['databaseserver', name]);
        const ready = server.status?.conditions?.find((c) => c.type === 'Ready');
        assert.equal(ready?.status, 'True', JSON.stringify(server.status));
        assert.ok(server.status?.serverVersion, 'serverVersion');
        assert.equal(server.status?.observedGeneration, 1);
      });
    }
    await eventually(`${downName} not Ready`, async () => {
      const server = await getJson<Server>(cluster, ['databaseserver', downName]);
      const ready = server.status?.conditions?.find((c) => c.type === 'Ready');
      assert.equal(ready?.status, 'False');
      assert.equal(ready?.reason, 'ConnectionRefused');
    });
    await eventually(`${badAuthName} not Ready`, async () => {
      const server = await getJson<Server>(cluster, ['databaseserver', badAuthName]);
      const ready = server.status?.conditions?.find((c) => c.type === 'Ready');
      assert.equal(ready?.status, 'False');
      assert.equal(ready?.reason, 'AuthenticationFailed');
      assert.ok(!JSON.stringify(server).includes('not-the-admin-password'), 'the password is not echoed');
    });
  });

  it('gives the shop samples their databases; the credentials work and are isolated', {
    timeout: 120_000,
  }, async () => {
    const samples = shopSamples(namespace).filter((doc) => (doc as { kind: string }).kind === 'MicroService') as {
      spec: { database?: { serverRef: string } };
    }[];
    for (const sample of samples) {
      if (!sample.spec.database) continue;
      sample.spec.database.serverRef = sample.spec.database.serverRef === 'mysql-main' ? myName : pgName;
    }
    await cluster.kubectl(['apply', '-f', '-'], {
      input: JSON.stringify({ kind: 'List', apiVersion: 'v1', items: samples }),
    });
    for (const name of ['users', 'orders', 'payments']) await waitDatabaseReady(name);

    const users = await databaseSecret(cluster, namespace, 'users');
    const payments = await databaseSecret(cluster, namespace, 'payments');
    const orders = await databaseSecret(cluster, namespace, 'orders');
    passwords.push(users.password ?? '', payments.password ?? '', orders.password ?? '');
    for (const secret of [users, payments, orders]) {
      assert.deepEqual(Object.keys(secret).sort(), [
        'DATABASE_URL',
        'database',
        'host',
        'password',
        'port',
        'username',
      ]);
      assert.ok((secret.password ?? '').length >= 32);
    }
    assert.equal(users.database, `${dbPrefix}_users`);
    assert.match(users.DATABASE_URL ?? '', /^postgresql:\/\//);
    assert.match(orders.DATABASE_URL ?? '', /^mysql:\/\//);

    const ms = await getJson<MicroServiceJson>(cluster, ['-n', namespace, 'microservice', 'users']);
    assert.deepEqual(ms.status?.database, { serverRef: pgName, name: `${dbPrefix}_users`, secretName: 'users-db' });
    assert.ok(ms.metadata.finalizers?.includes('flotilla.dev/database'));
    const deployment = await getJson<{
      spec: {
        template: { metadata: { annotations?: Record<string, string> }; spec: { containers: { env?: unknown[] }[] } };
      };
    }>(cluster, ['-n', namespace, 'deployment', 'users']);
    assert.match(
      deployment.spec.template.metadata.annotations?.['flotilla.dev/database-credentials'] ?? '',
      /^[0-9a-f]{16}$/,
    );
    assert.deepEqual(
      deployment.spec.template.spec.containers[0]?.env?.find((e) => (e as { name: string }).name === 'DATABASE_URL'),
      { name: 'DATABASE_URL', valueFrom: { secretKeyRef: { name: 'users-db', key: 'DATABASE_URL' } } },
    );

    // A row written with users' credentials reads back with them (postgres and mysql).
    for (const [server, secret] of [
      [pgServer, users],
      [myServer, orders],
    ] as const) {
      const session = await server.loginAs({
        username: secret.username ?? '',
        password: secret.password ?? '',
        database: secret.database ?? '',
      });
      await session.query('CREATE TABLE notes (id INT PRIMARY KEY, body VARCHAR(40))');
      await session.query("INSERT INTO notes VALUES (1, 'written by the service')");
      assert.deepEqual(await session.query('SELECT body FROM notes'), [{ body: 'written by the service' }]);
      await session.close();
    }
    // users' credentials cannot connect to payments' database.
    await assert.rejects(
      pgServer.loginAs({
        username: users.username ?? '',
        password: users.password ?? '',
        database: payments.database ?? '',
      }),
      (error: { code?: string }) => error.code === '42501',
    );
  });

  it('a second reconcile issues no DDL and writes nothing', { timeout: 30_000 }, async () => {
    const username = `${dbPrefix}_users`;
    const stored = await pgServer.storedPassword(username);
    const rvs = async () =>
      (
        await cluster.kubectl([
          '-n',
          namespace,
          'get',
          'secret/users-db',
          'microservice/users',
          'deployment/users',
          '-o',
          'jsonpath={.items[*].metadata.resourceVersion}',
        ])
      ).split(' ');
    const before = await rvs();
    const calls = running.serverCalls.length;
    running.microServices.queue.add(`${namespace}/users`);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    assert.equal(await pgServer.storedPassword(username), stored, 'the role password was not set again');
    assert.deepEqual(running.serverCalls.slice(calls), [], 'not even a round-trip to the server');
    const afterRvs = await rvs();
    assert.equal(afterRvs[0], before[0], 'the Secret is unchanged');
    assert.equal(afterRvs[1], before[1], 'the MicroService is unchanged');
    assert.equal(await conditionOf(cluster, namespace, 'users', 'DatabaseReady').then((c) => c?.reason), 'Provisioned');
  });

  it('repairs a deleted Secret with new credentials and rolls the pods', { timeout: 60_000 }, async () => {
    const annotation = async () =>
      (
        await getJson<{ spec: { template: { metadata: { annotations?: Record<string, string> } } } }>(cluster, [
          '-n',
          namespace,
          'deployment',
          'payments',
        ])
      ).spec.template.metadata.annotations?.['flotilla.dev/database-credentials'];
    const before = await annotation();
    const old = await databaseSecret(cluster, namespace, 'payments');
    await cluster.kubectl(['-n', namespace, 'delete', 'secret', 'payments-db']);
    await eventually('a new Secret and a new hash on the pod template', async () => {
      const fresh = await databaseSecret(cluster, namespace, 'payments');
      assert.notEqual(fresh.password, old.password);
      assert.notEqual(await annotation(), before);
    });
    const fresh = await databaseSecret(cluster, namespace, 'payments');
    passwords.push(fresh.password ?? '');
    await eventually('the new credentials work', async () => {
      const session = await pgServer.loginAs({
        username: fresh.username ?? '',
        password: fresh.password ?? '',
        database: fresh.database ?? '',
      });
      await session.close();
    });
  });

  it('a server that goes away does not roll the pods; its return changes nothing', { timeout: 60_000 }, async () => {
    const steady = `${namespace}-steady`;
    await createTestServer(cluster, 'postgres', steady, adminNamespace);
    await kubectlApply(
      cluster,
      microServiceManifest(namespace, 'steady', {
        image: 'registry.example.com/steady:1',
        database: { serverRef: steady, reclaimPolicy: 'Delete' },
      }),
    );
    await waitDatabaseReady('steady');
    passwords.push((await databaseSecret(cluster, namespace, 'steady')).password ?? '');
    const template = async () =>
      JSON.stringify(
        (await getJson<{ spec: { template: unknown } }>(cluster, ['-n', namespace, 'deployment', 'steady'])).spec
          .template,
      );
    const before = await template();
    await cluster.kubectl(['delete', 'databaseserver', steady]);
    await eventually('DatabaseReady False: ServerNotFound', async () => {
      assert.equal((await conditionOf(cluster, namespace, 'steady', 'DatabaseReady'))?.reason, 'ServerNotFound');
    });
    assert.equal(await template(), before, 'the pod template is unchanged');
    await createTestServer(cluster, 'postgres', steady, adminNamespace);
    await waitDatabaseReady('steady');
    assert.equal(await template(), before, 'still unchanged');
    await cluster.kubectl(['-n', namespace, 'delete', 'microservice', 'steady', '--wait=true', '--timeout=45s']);
    await cluster.kubectl(['delete', 'databaseserver', steady]);
    assert.deepEqual(await pgServer.databaseNames(`${dbPrefix}_steady`), []);
  });

  it('provisions the most hostile name the CRD lets through', { timeout: 60_000 }, async () => {
    // The longest name the CRD allows, all underscores and letters that are keywords elsewhere: it is
    // quoted, not interpolated, and fits both engines' limits.
    const hostile = `_${'_'.repeat(20)}select_drop_${'x'.repeat(63 - 33)}`.slice(0, 63);
    await kubectlApply(
      cluster,
      microServiceManifest(namespace, 'hostile', {
        image: 'registry.example.com/hostile:1',
        database: { serverRef: pgName, name: hostile, reclaimPolicy: 'Delete' },
      }),
    );
    // A name reserved by the server: refused with a clear condition, nothing created, no finalizer.
    await kubectlApply(
      cluster,
      microServiceManifest(namespace, 'reserved', {
        image: 'registry.example.com/reserved:1',
        database: { serverRef: pgName, name: 'pg_reserved' },
      }),
    );
    await eventually('reserved: InvalidName', async () => {
      const condition = await conditionOf(cluster, namespace, 'reserved', 'DatabaseReady');
      assert.equal(condition?.reason, 'InvalidName', JSON.stringify(condition));
      assert.match(condition?.message ?? '', /reserved/);
    });
    const reserved = await getJson<MicroServiceJson>(cluster, ['-n', namespace, 'microservice', 'reserved']);
    assert.equal(reserved.metadata.finalizers, undefined);
    assert.deepEqual(await pgServer.databaseNames('pg_reserved'), []);
    await waitDatabaseReady('hostile');
    assert.deepEqual(await pgServer.databaseNames(hostile), [hostile]);
    const secret = await databaseSecret(cluster, namespace, 'hostile');
    passwords.push(secret.password ?? '');
    const session = await pgServer.loginAs({
      username: secret.username ?? '',
      password: secret.password ?? '',
      database: hostile,
    });
    await session.close();
    await cluster.kubectl(['-n', namespace, 'delete', 'microservice', 'hostile', '--wait=true', '--timeout=60s']);
    assert.deepEqual(await pgServer.databaseNames(hostile), []);
  });

  it('provisions the longest MicroService name on mysql: database and user names cut with a hash', {
    timeout: 60_000,
  }, async () => {
    // 52 characters, the CRD's limit: <namespace>_<name> exceeds MySQL's 64-character schema names
    // (each `_` counts twice in GRANT) and its 32-character user names.
    const name = `long-${'x'.repeat(20)}-${'y'.repeat(25)}`.slice(0, 52);
    await kubectlApply(
      cluster,
      microServiceManifest(namespace, name, {
        image: 'registry.example.com/long:1',
        database: { serverRef: myName, reclaimPolicy: 'Delete' },
      }),
    );
    await waitDatabaseReady(name);
    const secret = await databaseSecret(cluster, namespace, name);
    passwords.push(secret.password ?? '');
    assert.ok((secret.username ?? '').length <= 32, secret.username);
    assert.match(secret.database ?? '', /_[0-9a-f]{10}$/);
    const session = await myServer.loginAs({
      username: secret.username ?? '',
      password: secret.password ?? '',
      database: secret.database ?? '',
    });
    await session.query('CREATE TABLE t (id INT)');
    await session.close();
    await cluster.kubectl(['-n', namespace, 'delete', 'microservice', name, '--wait=true', '--timeout=45s']);
    assert.deepEqual(await myServer.databaseNames(secret.database ?? ''), []);
    assert.deepEqual(await myServer.roleNames(secret.username ?? ''), []);
  });

  it('reclaimPolicy Delete drops the database and the role; Retain keeps them', { timeout: 90_000 }, async () => {
    for (const [name, policy, server] of [
      ['gone-pg', 'Delete', pgName],
      ['gone-my', 'Delete', myName],
      ['kept', 'Retain', pgName],
    ] as const) {
      await kubectlApply(
        cluster,
        microServiceManifest(namespace, name, {
          image: 'registry.example.com/x:1',
          database: { serverRef: server, reclaimPolicy: policy },
        }),
      );
    }
    for (const name of ['gone-pg', 'gone-my', 'kept']) await waitDatabaseReady(name);
    for (const name of ['gone-pg', 'gone-my', 'kept'])
      passwords.push((await databaseSecret(cluster, namespace, name)).password ?? '');
    await cluster.kubectl([
      '-n',
      namespace,
      'delete',
      'microservice',
      'gone-pg',
      'gone-my',
      'kept',
      '--wait=true',
      '--timeout=60s',
    ]);
    assert.deepEqual(await pgServer.databaseNames(`${dbPrefix}_gone_pg`), []);
    assert.deepEqual(await pgServer.roleNames(`${dbPrefix}_gone_pg`), []);
    assert.deepEqual(await myServer.databaseNames(`${dbPrefix}_gone_my`), []);
    assert.deepEqual(await myServer.roleNames(`${dbPrefix}_gone_my`), []);
    assert.deepEqual(await pgServer.databaseNames(`${dbPrefix}_kept`), [`${dbPrefix}_kept`]);
    assert.deepEqual(await pgServer.roleNames(`${dbPrefix}_kept`), [`${dbPrefix}_kept`]);
    const events = await allEventsText();
    assert.match(events, /DatabaseRetained/);
    assert.match(events, /DatabaseDropped/);
  });

  it('a server down at provisioning: False with a reason, then exactly one database once it is back', {
    timeout: 90_000,
  }, async () => {
    await kubectlApply(
      cluster,
      microServiceManifest(namespace, 'patient', {
        image: 'registry.example.com/x:1',
        database: { serverRef: downName, reclaimPolicy: 'Delete' },
      }),
    );
    await eventually('DatabaseReady False', async () => {
      const condition = await conditionOf(cluster, namespace, 'patient', 'DatabaseReady');
      assert.equal(condition?.status, 'False');
      assert.equal(condition?.reason, 'ConnectionRefused');
    });
    assert.ok((await eventsFor(cluster, namespace, 'patient', 'DatabaseFailed')).length >= 1, 'a Warning Event');
    // The server "comes back": the DatabaseServer now names the port it listens on.
    await cluster.kubectl([
      'patch',
      'databaseserver',
      downName,
      '--type',
      'merge',
      '-p',
      JSON.stringify({ spec: { port: pg.admin.port } }),
    ]);
    await waitDatabaseReady('patient');
    assert.deepEqual(await pgServer.databaseNames(`${dbPrefix}_patient`), [`${dbPrefix}_patient`]);
    assert.deepEqual(await pgServer.roleNames(`${dbPrefix}_patient`), [`${dbPrefix}_patient`]);
    passwords.push((await databaseSecret(cluster, namespace, 'patient')).password ?? '');
  });

  it('a server gone at deletion: bounded retries, then a Warning naming what is left behind', {
    timeout: 60_000,
  }, async () => {
    // patient's server goes away again; its MicroService is deleted with reclaimPolicy Delete.
    await cluster.kubectl(['patch', 'databaseserver', downName, '--type', 'merge', '-p', '{"spec":{"port":1}}']);
    await eventually('the controller sees the new port', async () => {
      const server = running.microServices.cache(databaseServerType).get(downName);
      assert.equal((server?.spec as { port?: number } | undefined)?.port, 1);
    });
    await cluster.kubectl(['-n', namespace, 'delete', 'microservice', 'patient', '--wait=true', '--timeout=45s']);
    const left = await eventsFor(cluster, namespace, 'patient', 'DatabaseLeftBehind');
    assert.equal(left.length, 1);
    assert.equal(left[0]?.type, 'Warning');
    assert.match(left[0]?.message ?? '', new RegExp(`database ${dbPrefix}_patient and role ${dbPrefix}_patient`));
    assert.ok((await eventsFor(cluster, namespace, 'patient', 'DatabaseDropFailed')).length >= 1, 'it retried first');
    assert.deepEqual(
      await pgServer.databaseNames(`${dbPrefix}_patient`),
      [`${dbPrefix}_patient`],
      'really left behind',
    );
  });

  it('the generated passwords appear nowhere in the logs, Events or status', { timeout: 30_000 }, async () => {
    assert.ok(passwords.length >= 5 && passwords.every((p) => p.length >= 32), 'the passwords were collected');
    const status = await cluster.kubectl(['-n', namespace, 'get', 'microservices', '-o', 'json']);
    const servers = await cluster.kubectl(['get', 'databaseservers', '-o', 'json']);
    const events = await allEventsText();
    const logs = running.logs.join('\n');
    assert.ok(running.logs.length > 50, 'the controllers logged');
    for (const password of [...passwords, pg.admin.password, my.admin.password]) {
      for (const [where, text] of [
        ['logs', logs],
        ['Events', events],
        ['status', status],
        ['DatabaseServers', servers],
      ] as const) {
        assert.ok(!text.includes(password), `a password appears in the ${where}`);
        assert.ok(!text.includes(encodeURIComponent(password)), `an encoded password appears in the ${where}`);
      }
    }
  });
});
