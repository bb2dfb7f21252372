// The postgres engine: one bounded `pg` pool per server; every identifier validated and quoted, every
// value a bind parameter or a quoted literal.
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { loadPg, once } from './drivers.ts';
import { checkConnectionWith, redact, runSanitized } from './errors.ts';
import { quotePostgresIdentifier, quotePostgresString, validateTarget } from './identifiers.ts';
import { decideClaim, formatOwnerMark, OwnershipConflictError, parseOwnerMark } from './ownership.ts';
import { buildScramVerifier, postgresPasswordMatches } from './postgres-password.ts';
import type {
  AdminConnection,
  ConnectionCheck,
  DatabaseAction,
  DatabaseEngine,
  DatabaseRequest,
  DatabaseResult,
  DatabaseTarget,
} from './types.ts';

const INVALID_PASSWORD = '28P01';
const INSUFFICIENT_PRIVILEGE = '42501';

function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined;
}

export function createPostgresEngine(admin: AdminConnection): DatabaseEngine {
  const where = `postgres ${admin.host}:${admin.port}`;
  const connectTimeoutMs = admin.connectTimeoutMs ?? 5000;
  const pool = once(async () => {
    const { Pool } = await loadPg();
    const made = new Pool({
      host: admin.host,
      port: admin.port,
      user: admin.username,
      password: admin.password,
      database: admin.database ?? 'postgres',
      max: admin.maxConnections ?? 4,
      idleTimeoutMillis: 30_000,
      connectionTimeoutMillis: connectTimeoutMs,
      allowExitOnIdle: true,
      application_name: 'flotilla',
    });
    // An idle client losing its server must not crash the operator; the next query reports the failure.
    made.on('error', () => {});
    return made;
  });

  async function query<R extends pg.QueryResultRow>(sql: string, values: unknown[] = []): Promise<R[]> {
    return (await (await pool.get()).query<R>(sql, values)).rows;
  }

  /** Logs in as the role: the one check that works when the admin cannot read pg_authid. */
  async function canLogIn(request: DatabaseRequest): Promise<boolean> {
    const { Client } = await loadPg();
    const client = new Client({
      host: admin.host,
      port: admin.port,
      user: request.username,
      password: request.password,
      database: request.database,
      connectionTimeoutMillis: connectTimeoutMs,
      application_name: 'flotilla',
    });
    client.on('error', () => {});
    try {
      await client.connect();
      return true;
    } catch (error) {
      if (errorCode(error) === INVALID_PASSWORD) return false;
      // Authenticated, but the database is missing (3D000) or not yet open to the role (42501).
      if (errorCode(error) === '3D000' || errorCode(error) === INSUFFICIENT_PRIVILEGE) return true;
      throw new Error(
        redact(`checking the password of ${request.username} on ${where}: ${String(error)}`, [request.password]),
      );
    } finally {
      await client.end().catch(() => {});
    }
  }

  async function passwordMatches(request: DatabaseRequest): Promise<boolean> {
    try {
      const rows = await query<{ rolpassword: string | null }>('SELECT rolpassword FROM pg_authid WHERE rolname = $1', [
        request.username,
      ]);
      // A verifier in a form we cannot check counts as different: setting it again is harmless.
      return postgresPasswordMatches(rows[0]?.rolpassword ?? null, request.username, request.password) ?? false;
    } catch (error) {
      if (errorCode(error) !== INSUFFICIENT_PRIVILEGE) throw error;
      return canLogIn(request);
    }
  }

  let facts: Promise<{ superuser: boolean; version: number }> | undefined;
  /** Whether the admin is a superuser, and the server's version number; asked once per pool. */
  function serverFacts(): Promise<{ superuser: boolean; version: number }> {
    facts ??= query<{ superuser: boolean; version: number }>(
      `SELECT rolsuper AS superuser, current_setting('server_version_num')::int AS version
         FROM pg_roles WHERE rolname = current_user`,
    ).then((rows) => rows[0] ?? { superuser: false, version: 0 });
    facts.catch(() => {
      facts = undefined;
    });
    return facts;
  }

  /** Whether the admin can act as the owner `username`: a superuser, or a member that inherits and can SET. */
  async function adminActsAs(username: string): Promise<boolean> {
    const { superuser, version } = await serverFacts();
    if (superuser) return true;
    const rows = await query<{ ok: boolean }>(
      version >= 160000
        ? "SELECT pg_has_role(current_user, $1, 'USAGE') AND pg_has_role(current_user, $1, 'SET') AS ok"
        : "SELECT pg_has_role(current_user, $1, 'USAGE') AS ok",
      [username],
    );
    return rows[0]?.ok === true;
  }

  function passwordClause(password: string): string {
    return `PASSWORD ${quotePostgresString(buildScramVerifier(password, randomBytes(16)))}`;
  }

  const run = <T>(doing: string, action: () => Promise<T>, secrets: string[] = []): Promise<T> =>
    runSanitized(`${doing} on ${where}`, action, [...secrets, admin.password]);

  async function transaction(statements: string[]): Promise<void> {
    const client = await (await pool.get()).connect();
    try {
      await client.query('BEGIN');
      for (const statement of statements) await client.query(statement);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }

  interface RoleRow {
    can_login: boolean;
    mark: string | null;
    /** Any of SUPERUSER, CREATEROLE, CREATEDB, REPLICATION, BYPASSRLS: never adopted. */
    privileged: boolean;
  }
  interface DatabaseRow {
    owner: string;
    mark: string | null;
    public_connect: boolean;
  }

  async function roleRowOf(username: string): Promise<RoleRow | undefined> {
    return (
      await query<RoleRow>(
        `SELECT rolcanlogin AS can_login, shobj_description(oid, 'pg_authid') AS mark,
                (rolsuper OR rolcreaterole OR rolcreatedb OR rolreplication OR rolbypassrls) AS privileged
           FROM pg_roles WHERE rolname = $1`,
        [username],
      )
    )[0];
  }

  async function databaseRow(database: string): Promise<DatabaseRow | undefined> {
    return (
      await query<DatabaseRow>(
        `SELECT pg_get_userbyid(d.datdba) AS owner, shobj_description(d.oid, 'pg_database') AS mark,
                EXISTS (SELECT 1 FROM aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) a
                        WHERE a.grantee = 0 AND a.privilege_type = 'CONNECT') AS public_connect
           FROM pg_database d WHERE d.datname = $1`,
        [database],
      )
    )[0];
  }

  /**
   * A database is `owner`'s when its mark says so, or when it has no mark and is owned by `owner`'s marked
   * role: Flotilla creates it owned by that role and marks it next, so a crash in between leaves exactly that.
   */
  function databaseIsOwners(row: DatabaseRow, username: string, roleOurs: boolean, owner: string): boolean {
    const mark = parseOwnerMark(row.mark);
    return mark === owner || (mark === undefined && roleOurs && row.owner === username);
  }

  /** The names validated, and what exists under them decided against the request's mark (read-only). */
  async function inspect(target: DatabaseTarget) {
    const { database, username } = validateTarget('postgres', target, admin.username);
    const roleRow = await roleRowOf(username);
    const dbRow = await databaseRow(database);
    const roleOurs = roleRow !== undefined && parseOwnerMark(roleRow.mark) === target.owner;
    // The database is decided first: it is what a refusal names when both were made by someone else.
    const dbOwner = dbRow
      ? databaseIsOwners(dbRow, username, roleOurs, target.owner)
        ? target.owner
        : parseOwnerMark(dbRow.mark)
      : undefined;
    const dbClaim = decideClaim(
      'database',
      database,
      dbRow ? { exists: true, owner: dbOwner } : { exists: false },
      target,
    );
    const roleFound = roleRow
      ? { exists: true as const, owner: parseOwnerMark(roleRow.mark) }
      : { exists: false as const };
    const roleClaim = decideClaim('role', username, roleFound, target);
    if (roleClaim === 'adopt' && roleRow?.privileged) {
      throw new OwnershipConflictError('role', username, undefined, true);
    }
    return {
      database,
      username,
      found: {
        role: { claim: roleClaim, canLogin: roleRow?.can_login === true },
        database: { claim: dbClaim, row: dbRow },
      },
    };
  }

  return {
    engine: 'postgres',

    checkConnection(): Promise<ConnectionCheck> {
      return checkConnectionWith(
        async () => (await query<{ server_version: string }>('SHOW server_version'))[0]?.server_version,
        where,
        [admin.password],
      );
    },

    checkOwnership(target: DatabaseTarget): Promise<void> {
      return run(`checking the ownership of ${target.database}`, async () => {
        await inspect(target);
      });
    },

    async ensureDatabase(request: DatabaseRequest): Promise<DatabaseResult> {
      return run(`provisioning ${request.database}`, async () => {
        const { database, username, found } = await inspect(request);
        const role = quotePostgresIdentifier(username);
        const db = quotePostgresIdentifier(database);
        const mark = quotePostgresString(formatOwnerMark(request.owner));
        const actions: DatabaseAction[] = [];

        // 1. The role, with the Secret's password and the mark, in one transaction: never there unmarked.
        if (found.role.claim === 'create') {
          await transaction([
            `CREATE ROLE ${role} WITH LOGIN ${passwordClause(request.password)}`,
            `COMMENT ON ROLE ${role} IS ${mark}`,
          ]);
          actions.push('CreateRole');
        } else {
          if (found.role.claim === 'adopt') {
            await query(`COMMENT ON ROLE ${role} IS ${mark}`);
            actions.push('AdoptRole');
          }
          if (!found.role.canLogin || !(await passwordMatches(request))) {
            await query(`ALTER ROLE ${role} WITH LOGIN ${passwordClause(request.password)}`);
            actions.push('SetRolePassword');
          }
        }

        // An admin that is not a superuser (CREATEROLE, CREATEDB: managed servers) acts as the owner through
        // membership in the role: it needs that to create a database owned by it, and later to drop it.
        if (!(await adminActsAs(username))) {
          const options = (await serverFacts()).version >= 160000 ? ' WITH INHERIT TRUE, SET TRUE' : '';
          await query(`GRANT ${role} TO CURRENT_USER${options}`);
          actions.push('GrantRoleToAdmin');
        }

        // 2. The database, owned by the role, then marked (a crash in between leaves it owned by our marked
        // role, which inspect counts as ours).
        let current = found.database.row;
        if (found.database.claim === 'create') {
          await query(`CREATE DATABASE ${db} OWNER ${role}`);
          actions.push('CreateDatabase');
          current = await databaseRow(database);
          if (!current) throw new Error(`database ${database} is missing right after CREATE DATABASE`);
          await query(`COMMENT ON DATABASE ${db} IS ${mark}`);
        } else if (current) {
          if (current.owner !== username) {
            await query(`ALTER DATABASE ${db} OWNER TO ${role}`);
            actions.push('SetDatabaseOwner');
          }
          if (found.database.claim === 'adopt' || parseOwnerMark(current.mark) !== request.owner) {
            await query(`COMMENT ON DATABASE ${db} IS ${mark}`);
            actions.push(found.database.claim === 'adopt' ? 'AdoptDatabase' : 'MarkDatabase');
          }
        }

        // 3. Nobody but its owner (and superusers) may connect to it.
        if (current?.public_connect) {
          await query(`REVOKE CONNECT ON DATABASE ${db} FROM PUBLIC`);
          actions.push('RevokePublicConnect');
        }
        return { actions };
      }, [request.password]);
    },

    async dropDatabase(target): Promise<DatabaseResult> {
      return run(`dropping ${target.database}`, async () => {
        const { database, username } = validateTarget('postgres', target, admin.username);
        const actions: DatabaseAction[] = [];
        const roleRow = await roleRowOf(username);
        const roleOurs = roleRow !== undefined && parseOwnerMark(roleRow.mark) === target.owner;
        const dbRow = await databaseRow(database);
        if (dbRow && databaseIsOwners(dbRow, username, roleOurs, target.owner)) {
          // FORCE ends the service's open sessions, which would otherwise block the drop.
          await query(`DROP DATABASE IF EXISTS ${quotePostgresIdentifier(database)} WITH (FORCE)`);
          actions.push('DropDatabase');
        }
        if (roleOurs) {
          await query(`DROP ROLE IF EXISTS ${quotePostgresIdentifier(username)}`);
          actions.push('DropRole');
        }
        return { actions };
      });
    },

    async close(): Promise<void> {
      await (await pool.made())?.end();
    },
  };
}
