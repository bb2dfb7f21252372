// The mysql engine (MySQL and MariaDB): one bounded `mysql2` pool per server; identifiers validated and
// backtick-quoted, values escaped by the driver's placeholders.
import mysql from 'mysql2/promise';
import { checkConnectionWith, redact, sanitized } from './errors.ts';
import { checkMysqlGrantable, quoteMysqlIdentifier, validateTarget } from './identifiers.ts';
import type {
  AdminConnection,
  ConnectionCheck,
  DatabaseAction,
  DatabaseEngine,
  DatabaseRequest,
  DatabaseResult,
} from './types.ts';

/** The accounts Flotilla creates may log in from anywhere the server lets them; the database limits them. */
export const MYSQL_ACCOUNT_HOST = '%';

/** What a service's user may do in its own database, and nowhere else. */
export const MYSQL_DATABASE_PRIVILEGES = [
  'SELECT',
  'INSERT',
  'UPDATE',
  'DELETE',
  'CREATE',
  'DROP',
  'ALTER',
  'INDEX',
  'REFERENCES',
  'CREATE TEMPORARY TABLES',
  'LOCK TABLES',
  'EXECUTE',
  'CREATE VIEW',
  'SHOW VIEW',
  'CREATE ROUTINE',
  'ALTER ROUTINE',
  'EVENT',
  'TRIGGER',
] as const;

const ER_ACCESS_DENIED_ERROR = 1045;

/**
 * In GRANT … ON `db`.*, `_` and `%` are wildcards: `shop_orders` would also match `shopXorders`. Escaped,
 * the grant names exactly one database. Pure.
 */
export function escapeGrantDatabase(database: string): string {
  return database.replace(/[_%\\]/g, '\\$&');
}

function errno(error: unknown): number | undefined {
  return typeof error === 'object' && error !== null && 'errno' in error && typeof error.errno === 'number'
    ? error.errno
    : undefined;
}

export function createMysqlEngine(admin: AdminConnection): DatabaseEngine {
  const where = `mysql ${admin.host}:${admin.port}`;
  const connectTimeout = admin.connectTimeoutMs ?? 5000;
  const limit = admin.maxConnections ?? 4;
  const pool = mysql.createPool({
    host: admin.host,
    port: admin.port,
    user: admin.username,
    password: admin.password,
    connectionLimit: limit,
    maxIdle: limit,
    idleTimeout: 30_000,
    connectTimeout,
    queueLimit: 0,
    multipleStatements: false,
    enableKeepAlive: true,
  });

  async function query<R>(sql: string, values: unknown[] = []): Promise<R[]> {
    const [rows] = await pool.query(sql, values);
    return rows as R[];
  }

  async function userExists(username: string): Promise<boolean> {
    const rows = await query('SELECT 1 FROM mysql.user WHERE User = ? AND Host = ?', [username, MYSQL_ACCOUNT_HOST]);
    return rows.length > 0;
  }

  async function databaseExists(database: string): Promise<boolean> {
    const rows = await query('SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [database]);
    return rows.length > 0;
  }

  /** Logs in as the user, without a database: true when the Secret's password is the user's. */
  async function passwordMatches(request: DatabaseRequest): Promise<boolean> {
    let connection: mysql.Connection | undefined;
    try {
      connection = await mysql.createConnection({
        host: admin.host,
        port: admin.port,
        user: request.username,
        password: request.password,
        connectTimeout,
      });
      return true;
    } catch (error) {
      if (errno(error) === ER_ACCESS_DENIED_ERROR) return false;
      throw new Error(
        redact(`checking the password of ${request.username} on ${where}: ${String(error)}`, [request.password]),
      );
    } finally {
      await connection?.end().catch(() => {});
    }
  }

  return {
    engine: 'mysql',

    checkConnection(): Promise<ConnectionCheck> {
      return checkConnectionWith(
        async () => (await query<{ version: string }>('SELECT VERSION() AS version'))[0]?.version,
        where,
        [admin.password],
      );
    },

    async ensureDatabase(request: DatabaseRequest): Promise<DatabaseResult> {
      const { database, username } = validateTarget('mysql', request, admin.username);
      checkMysqlGrantable(database);
      const actions: DatabaseAction[] = [];
      try {
        // 1. The user, with the Secret's password.
        if (!(await userExists(username))) {
          await query('CREATE USER ?@? IDENTIFIED BY ?', [username, MYSQL_ACCOUNT_HOST, request.password]);
          actions.push('CreateRole');
        } else if (!(await passwordMatches(request))) {
          await query('ALTER USER ?@? IDENTIFIED BY ?', [username, MYSQL_ACCOUNT_HOST, request.password]);
          actions.push('SetRolePassword');
        }

        // 2. The database.
        if (!(await databaseExists(database))) {
          await query(`CREATE DATABASE ${quoteMysqlIdentifier(database)} CHARACTER SET utf8mb4`);
          actions.push('CreateDatabase');
        }

        // 3. The user's privileges, on exactly its own database.
        const grantName = escapeGrantDatabase(database);
        const held = await query<{ PRIVILEGE_TYPE: string }>(
          'SELECT PRIVILEGE_TYPE FROM information_schema.SCHEMA_PRIVILEGES WHERE GRANTEE = ? AND TABLE_SCHEMA = ?',
          [`'${username}'@'${MYSQL_ACCOUNT_HOST}'`, grantName],
        );
        const heldSet = new Set(held.map((row) => row.PRIVILEGE_TYPE));
        if (MYSQL_DATABASE_PRIVILEGES.some((privilege) => !heldSet.has(privilege))) {
          await query(`GRANT ${MYSQL_DATABASE_PRIVILEGES.join(', ')} ON ${quoteMysqlIdentifier(grantName)}.* TO ?@?`, [
            username,
            MYSQL_ACCOUNT_HOST,
          ]);
          actions.push('GrantPrivileges');
        }
        return { actions };
      } catch (error) {
        throw sanitized(error, `provisioning ${database} on ${where}`, [request.password, admin.password]);
      }
    },

    async dropDatabase(target): Promise<DatabaseResult> {
      const { database, username } = validateTarget('mysql', target, admin.username);
      const actions: DatabaseAction[] = [];
      try {
        if (await databaseExists(database)) {
          await query(`DROP DATABASE IF EXISTS ${quoteMysqlIdentifier(database)}`);
          actions.push('DropDatabase');
        }
        if (await userExists(username)) {
          await query('DROP USER IF EXISTS ?@?', [username, MYSQL_ACCOUNT_HOST]);
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
