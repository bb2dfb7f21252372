// The postgres engine: one bounded `pg` pool per server; every identifier validated and quoted, every
// value a bind parameter or a quoted literal.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { checkConnectionWith, redact, sanitized } from './errors.ts';
import { quotePostgresIdentifier, quotePostgresString, validateTarget } from './identifiers.ts';
import { buildScramVerifier, postgresPasswordMatches } from './postgres-password.ts';
import type {
  AdminConnection,
  ConnectionCheck,
  DatabaseAction,
  DatabaseEngine,
  DatabaseRequest,
  DatabaseResult,
} from './types.ts';

const INVALID_PASSWORD = '28P01';
const INSUFFICIENT_PRIVILEGE = '42501';

function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined;
}

export function createPostgresEngine(admin: AdminConnection): DatabaseEngine {
  const where = `postgres ${admin.host}:${admin.port}`;
  const connectTimeoutMs = admin.connectTimeoutMs ?? 5000;
  const pool = new pg.Pool({
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
  pool.on('error', () => {});

  async function query<R extends pg.QueryResultRow>(sql: string, values: unknown[] = []): Promise<R[]> {
    return (await pool.query<R>(sql, values)).rows;
  }

  /** Logs in as the role: the one check that works when the admin cannot read pg_authid. */
  async function canLogIn(request: DatabaseRequest): Promise<boolean> {
    const client = new pg.Client({
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

  return {
    engine: 'postgres',

    checkConnection(): Promise<ConnectionCheck> {
      return checkConnectionWith(
        async () => (await query<{ server_version: string }>('SHOW server_version'))[0]?.server_version,
        where,
        [admin.password],
      );
    },

    async ensureDatabase(request: DatabaseRequest): Promise<DatabaseResult> {
      const { database, username } = validateTarget('postgres', request, admin.username);
      const role = quotePostgresIdentifier(username);
      const db = quotePostgresIdentifier(database);
      const actions: DatabaseAction[] = [];
      try {
        // 1. The role, with the Secret's password.
        const roles = await query<{ rolcanlogin: boolean }>('SELECT rolcanlogin FROM pg_roles WHERE rolname = $1', [
          username,
        ]);
        if (roles.length === 0) {
          await query(`CREATE ROLE ${role} WITH LOGIN ${passwordClause(request.password)}`);
          actions.push('CreateRole');
        } else if (!roles[0]?.rolcanlogin || !(await passwordMatches(request))) {
          await query(`ALTER ROLE ${role} WITH LOGIN ${passwordClause(request.password)}`);
          actions.push('SetRolePassword');
        }

        // An admin that is not a superuser (CREATEROLE, CREATEDB: managed servers) acts as the owner through
        // membership in the role: it needs that to create a database owned by it, and later to drop it.
        if (!(await adminActsAs(username))) {
          const options = (await serverFacts()).version >= 160000 ? ' WITH INHERIT TRUE, SET TRUE' : '';
          await query(`GRANT ${role} TO CURRENT_USER${options}`);
          actions.push('GrantRoleToAdmin');
        }

        // 2. The database, owned by the role.
        const found = async () =>
          (
            await query<{ owner: string; public_connect: boolean }>(
              `SELECT pg_get_userbyid(d.datdba) AS owner,
                      EXISTS (SELECT 1 FROM aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) a
                              WHERE a.grantee = 0 AND a.privilege_type = 'CONNECT') AS public_connect
                 FROM pg_database d WHERE d.datname = $1`,
              [database],
            )
          )[0];
        let current = await found();
        if (!current) {
          await query(`CREATE DATABASE ${db} OWNER ${role}`);
          actions.push('CreateDatabase');
          current = await found();
          if (!current) throw new Error(`database ${database} is missing right after CREATE DATABASE`);
        } else if (current.owner !== username) {
          await query(`ALTER DATABASE ${db} OWNER TO ${role}`);
          actions.push('SetDatabaseOwner');
        }

        // 3. Nobody but its owner (and superusers) may connect to it.
        if (current.public_connect) {
          await query(`REVOKE CONNECT ON DATABASE ${db} FROM PUBLIC`);
          actions.push('RevokePublicConnect');
        }
        return { actions };
      } catch (error) {
        throw sanitized(error, `provisioning ${database} on ${where}`, [request.password, admin.password]);
      }
    },

    async dropDatabase(target): Promise<DatabaseResult> {
      const { database, username } = validateTarget('postgres', target, admin.username);
      const actions: DatabaseAction[] = [];
      try {
        if ((await query('SELECT 1 FROM pg_database WHERE datname = $1', [database])).length > 0) {
          // FORCE ends the service's open sessions, which would otherwise block the drop.
          await query(`DROP DATABASE IF EXISTS ${quotePostgresIdentifier(database)} WITH (FORCE)`);
          actions.push('DropDatabase');
        }
        if ((await query('SELECT 1 FROM pg_roles WHERE rolname = $1', [username])).length > 0) {
          await query(`DROP ROLE IF EXISTS ${quotePostgresIdentifier(username)}`);
          actions.push('DropRole');
        }
        return { actions };
      } catch (error) {
        throw sanitized(error, `dropping ${database} on ${where}`, [admin.password]);
      }
    },

    async close(): Promise<void> {
      await pool.end();
    },
  };
}
