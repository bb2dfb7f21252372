// The mysql engine (MySQL and MariaDB): one bounded `mysql2` pool per server; identifiers validated and
// backtick-quoted, values escaped by the driver's placeholders.
import type mysql from 'mysql2/promise';
import { loadMysql, once } from './drivers.ts';
import { checkConnectionWith, redact, runSanitized } from './errors.ts';
import { checkMysqlGrantable, MARKS_DATABASE, quoteMysqlIdentifier, validateTarget } from './identifiers.ts';
import { decideClaim, OwnershipConflictError } from './ownership.ts';
import type {
  AdminConnection,
  ConnectionCheck,
  DatabaseAction,
  DatabaseEngine,
  DatabaseRequest,
  DatabaseResult,
  DatabaseTarget,
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
const ER_BAD_DB_ERROR = 1049;
const ER_NO_SUCH_TABLE = 1146;

/** Flotilla's marks of ownership on a mysql server: which MicroService each database and user it made is for. */
const MARKS_TABLE = `${quoteMysqlIdentifier(MARKS_DATABASE)}.\`owners\``;

const optional = <K extends string>(key: K, value: string | undefined) =>
  (value === undefined ? {} : { [key]: value }) as Partial<Record<K, string>>;

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
  const pool = once(async () =>
    (await loadMysql()).createPool({
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
    }),
  );

  async function query<R>(sql: string, values: unknown[] = []): Promise<R[]> {
    const [rows] = await (await pool.get()).query(sql, values);
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
      connection = await (await loadMysql()).createConnection({
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

  const run = <T>(doing: string, action: () => Promise<T>, secrets: string[] = []): Promise<T> =>
    runSanitized(`${doing} on ${where}`, action, [...secrets, admin.password]);

  /** The marks of a database and a user; a server where Flotilla never wrote one has no table yet. */
  async function readMarks(database: string, username: string): Promise<{ database?: string; user?: string }> {
    try {
      const rows = await query<{ kind: string; owner: string }>(
        `SELECT kind, owner FROM ${MARKS_TABLE} WHERE (kind = 'database' AND name = ?) OR (kind = 'user' AND name = ?)`,
        [database, username],
      );
      const owner = (kind: string) => rows.find((row) => row.kind === kind)?.owner;
      return { ...optional('database', owner('database')), ...optional('user', owner('user')) };
    } catch (error) {
      if (errno(error) === ER_NO_SUCH_TABLE || errno(error) === ER_BAD_DB_ERROR) return {};
      throw error;
    }
  }

  let marksTable: Promise<unknown> | undefined;
  async function writeMarks(database: string, username: string, owner: string): Promise<void> {
    marksTable ??= (async () => {
      await query(`CREATE DATABASE IF NOT EXISTS ${quoteMysqlIdentifier(MARKS_DATABASE)} CHARACTER SET utf8mb4`);
      await query(
        `CREATE TABLE IF NOT EXISTS ${MARKS_TABLE} (kind VARCHAR(16) NOT NULL, name VARCHAR(80) NOT NULL, ` +
          'owner VARCHAR(320) NOT NULL, PRIMARY KEY (kind, name))',
      );
    })();
    marksTable.catch(() => {
      marksTable = undefined;
    });
    await marksTable;
    await query(
      `INSERT INTO ${MARKS_TABLE} (kind, name, owner) VALUES ('database', ?, ?), ('user', ?, ?) ` +
        'ON DUPLICATE KEY UPDATE owner = VALUES(owner)',
      [database, owner, username, owner],
    );
  }

  /** Whether the user holds any privilege on every database (`ON *.*` beyond USAGE): never adopted. */
  async function hasGlobalPrivileges(username: string): Promise<boolean> {
    const rows = await query<Record<string, string>>('SHOW GRANTS FOR ?@?', [username, MYSQL_ACCOUNT_HOST]);
    return rows.some((row) => {
      const grant = String(Object.values(row)[0] ?? '');
      const global = /^GRANT (.+?) ON \*\.\* TO /.exec(grant);
      return global !== null && (global[1] !== 'USAGE' || / WITH GRANT OPTION/.test(grant));
    });
  }

  /** The names validated, and what exists under them decided against the request's mark (read-only). */
  async function inspect(target: DatabaseTarget) {
    const { database, username } = validateTarget('mysql', target, admin.username);
    const marks = await readMarks(database, username);
    // The database is decided first: it is what a refusal names when both were made by someone else.
    const dbFound = (await databaseExists(database))
      ? { exists: true as const, owner: marks.database }
      : { exists: false as const };
    const databaseClaim = decideClaim('database', database, dbFound, target);
    const userFound = (await userExists(username))
      ? { exists: true as const, owner: marks.user }
      : { exists: false as const };
    const user = decideClaim('user', username, userFound, target);
    if (user === 'adopt' && (await hasGlobalPrivileges(username))) {
      throw new OwnershipConflictError('user', username, undefined, true);
    }
    return { database, username, marks, found: { user, database: databaseClaim } };
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

    checkOwnership(target: DatabaseTarget): Promise<void> {
      return run(`checking the ownership of ${target.database}`, async () => {
        await inspect(target);
      });
    },

    async ensureDatabase(request: DatabaseRequest): Promise<DatabaseResult> {
      return run(`provisioning ${request.database}`, async () => {
        const { database, username, found } = await inspect(request);
        checkMysqlGrantable(database);
        const actions: DatabaseAction[] = [];
        // The marks first: what is created next is never there unmarked (a crash leaves a mark whose
        // object is missing, and the next call creates it).
        await writeMarks(database, username, request.owner);

        // 1. The user, with the Secret's password.
        if (found.user === 'create') {
          await query('CREATE USER ?@? IDENTIFIED BY ?', [username, MYSQL_ACCOUNT_HOST, request.password]);
          actions.push('CreateRole');
        } else {
          if (found.user === 'adopt') actions.push('AdoptRole');
          if (!(await passwordMatches(request))) {
            await query('ALTER USER ?@? IDENTIFIED BY ?', [username, MYSQL_ACCOUNT_HOST, request.password]);
            actions.push('SetRolePassword');
          }
        }

        // 2. The database.
        if (found.database === 'create') {
          await query(`CREATE DATABASE ${quoteMysqlIdentifier(database)} CHARACTER SET utf8mb4`);
          actions.push('CreateDatabase');
        } else if (found.database === 'adopt') {
          actions.push('AdoptDatabase');
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
      }, [request.password]);
    },

    async dropDatabase(target): Promise<DatabaseResult> {
      return run(`dropping ${target.database}`, async () => {
        const { database, username } = validateTarget('mysql', target, admin.username);
        const actions: DatabaseAction[] = [];
        const marks = await readMarks(database, username);
        if (marks.database === target.owner) {
          if (await databaseExists(database)) {
            await query(`DROP DATABASE IF EXISTS ${quoteMysqlIdentifier(database)}`);
            actions.push('DropDatabase');
          }
          await query(`DELETE FROM ${MARKS_TABLE} WHERE kind = 'database' AND name = ?`, [database]);
        }
        if (marks.user === target.owner) {
          if (await userExists(username)) {
            await query('DROP USER IF EXISTS ?@?', [username, MYSQL_ACCOUNT_HOST]);
            actions.push('DropRole');
          }
          await query(`DELETE FROM ${MARKS_TABLE} WHERE kind = 'user' AND name = ?`, [username]);
        }
        return { actions };
      });
    },

    async close(): Promise<void> {
      await (await pool.made())?.end();
    },
  };
}
