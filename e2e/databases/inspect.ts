// For tests: looks at a real server directly (not through the engine under test), and logs in as a
// service's role the way the service would.
import mysql from 'mysql2/promise';
import pg from 'pg';
import { type AdminConnection, quoteMysqlIdentifier } from '../../operator/src/database/index.ts';

export interface ServiceSession {
  query(sql: string): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

/** The card number in the table `cards` of what makeByHand makes. */
export const HAND_MADE_CARD = '4111 1111 1111 1111';

export interface ServerInspector {
  databaseNames(prefix: string): Promise<string[]>;
  roleNames(prefix: string): Promise<string[]>;
  /** The stored password verifier (postgres) or hash (mysql) of a role: unchanged when no DDL touched it. */
  storedPassword(username: string): Promise<string | undefined>;
  /** Runs one statement as the admin (test setup only); in `database` when given. */
  execute(sql: string, database?: string): Promise<void>;
  /**
   * Everything a DBA would notice changed about a database and a role (user) they made by hand: owner,
   * privileges, comment, the stored password hash, the role's attributes and every row of `table`.
   */
  snapshot(database: string, username: string, table: string): Promise<unknown>;
  /**
   * What a DBA makes by hand: a role (user) `name` with `password`, a database `name` it can read, and its
   * table `cards` holding one card number. `powers`: postgres role attributes (CREATEDB), or mysql privileges
   * granted ON *.* (SELECT).
   */
  makeByHand(name: string, password: string, powers?: string): Promise<void>;
  /** Drops a database and a role (user) `name`, whatever made them (test clean-up). */
  dropByHand(name: string): Promise<void>;
  /** How many sessions the admin user has open on the server right now (this inspector's own included). */
  adminSessions(): Promise<number>;
  /** Logs in as a service; rejects with the driver's error (code / errno kept) when the server refuses. */
  loginAs(login: { username: string; password: string; database: string }): Promise<ServiceSession>;
  close(): Promise<void>;
}

export async function inspectServer(admin: AdminConnection): Promise<ServerInspector> {
  return admin.engine === 'postgres' ? inspectPostgres(admin) : inspectMysql(admin);
}

async function inspectPostgres(admin: AdminConnection): Promise<ServerInspector> {
  const connection = { host: admin.host, port: admin.port, user: admin.username, password: admin.password };
  const client = new pg.Client({ ...connection, database: admin.database ?? 'postgres' });
  await client.connect();
  const names = async (sql: string, prefix: string) =>
    (await client.query<{ name: string }>(sql, [prefix])).rows.map((r) => r.name).sort();
  const inspector: ServerInspector = {
    databaseNames: (prefix) => names('SELECT datname AS name FROM pg_database WHERE starts_with(datname, $1)', prefix),
    roleNames: (prefix) => names('SELECT rolname AS name FROM pg_roles WHERE starts_with(rolname, $1)', prefix),
    async storedPassword(username) {
      const { rows } = await client.query<{ p: string }>('SELECT rolpassword AS p FROM pg_authid WHERE rolname = $1', [
        username,
      ]);
      return rows[0]?.p;
    },
    async execute(sql, database) {
      if (!database) {
        await client.query(sql);
        return;
      }
      const inDatabase = new pg.Client({ ...connection, database });
      await inDatabase.connect();
      try {
        await inDatabase.query(sql);
      } finally {
        await inDatabase.end();
      }
    },
    async snapshot(database, username, table) {
      const one = async (sql: string, values: unknown[]) => (await client.query(sql, values)).rows;
      const inDatabase = new pg.Client({ ...connection, database });
      await inDatabase.connect();
      try {
        return {
          database: await one(
            `SELECT pg_get_userbyid(datdba) AS owner, datacl::text AS acl, shobj_description(oid, 'pg_database') AS comment
               FROM pg_database WHERE datname = $1`,
            [database],
          ),
          role: await one(
            `SELECT rolpassword, rolsuper, rolcreaterole, rolcreatedb, rolcanlogin, rolconnlimit,
                    shobj_description(oid, 'pg_authid') AS comment,
                    ARRAY(SELECT b.rolname FROM pg_auth_members m JOIN pg_roles b ON b.oid = m.roleid
                           WHERE m.member = a.oid ORDER BY 1) AS member_of,
                    ARRAY(SELECT b.rolname FROM pg_auth_members m JOIN pg_roles b ON b.oid = m.member
                           WHERE m.roleid = a.oid ORDER BY 1) AS members
               FROM pg_authid a WHERE rolname = $1`,
            [username],
          ),
          tables: (
            await inDatabase.query(
              `SELECT tablename, tableowner, (SELECT relacl::text FROM pg_class WHERE relname = tablename) AS acl
                 FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`,
            )
          ).rows,
          rows: (await inDatabase.query(`SELECT * FROM ${table} ORDER BY 1`)).rows,
        };
      } finally {
        await inDatabase.end();
      }
    },
    async makeByHand(name, password, powers = '') {
      await client.query(`CREATE ROLE ${name} LOGIN ${powers} PASSWORD '${password}'`);
      await client.query(`CREATE DATABASE ${name} OWNER ${name}`);
      await client.query(`COMMENT ON DATABASE ${name} IS 'billing data; ask the DBA team'`);
      await inspector.execute(
        `CREATE TABLE cards (id INT PRIMARY KEY, number TEXT); INSERT INTO cards VALUES (1, '${HAND_MADE_CARD}'); GRANT SELECT ON cards TO ${name}`,
        name,
      );
    },
    async dropByHand(name) {
      await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await client.query(`DROP ROLE IF EXISTS "${name}"`);
    },
    async adminSessions() {
      const { rows } = await client.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = $1',
        [admin.username],
      );
      return rows[0]?.n ?? 0;
    },
    async loginAs({ username, password, database }) {
      const session = new pg.Client({ host: admin.host, port: admin.port, user: username, password, database });
      session.on('error', () => {});
      try {
        await session.connect();
      } catch (error) {
        await session.end().catch(() => {});
        throw error;
      }
      return {
        query: async (sql) => (await session.query(sql)).rows,
        close: () => session.end(),
      };
    },
    close: () => client.end(),
  };
  return inspector;
}

async function inspectMysql(admin: AdminConnection): Promise<ServerInspector> {
  const connection = await mysql.createConnection({
    host: admin.host,
    port: admin.port,
    user: admin.username,
    password: admin.password,
  });
  const names = async (sql: string, prefix: string) => {
    const [rows] = await connection.query(sql, [prefix, prefix]);
    return (rows as { name: string }[]).map((r) => r.name).sort();
  };
  return {
    databaseNames: (prefix) =>
      names(
        'SELECT SCHEMA_NAME AS name FROM information_schema.SCHEMATA WHERE LEFT(SCHEMA_NAME, CHAR_LENGTH(?)) = ?',
        prefix,
      ),
    roleNames: (prefix) =>
      names("SELECT User AS name FROM mysql.user WHERE LEFT(User, CHAR_LENGTH(?)) = ? AND Host = '%'", prefix),
    async storedPassword(username) {
      const [rows] = await connection.query(
        "SELECT authentication_string AS p FROM mysql.user WHERE User = ? AND Host = '%'",
        [username],
      );
      return (rows as { p: string }[])[0]?.p;
    },
    async execute(sql, database) {
      if (database) await connection.query(`USE ${quoteMysqlIdentifier(database)}`);
      await connection.query(sql);
    },
    async snapshot(database, username, table) {
      const all = async (sql: string, values: unknown[] = []) => (await connection.query(sql, values))[0];
      const grants = await all('SHOW GRANTS FOR ?@?', [username, '%']).catch((error: Error) => error.message);
      return {
        database: await all(
          'SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?',
          [database],
        ),
        user: await all(
          "SELECT authentication_string, plugin, password_expired, max_user_connections FROM mysql.user WHERE User = ? AND Host = '%'",
          [username],
        ),
        grants,
        schemaPrivileges: await all(
          'SELECT GRANTEE, PRIVILEGE_TYPE FROM information_schema.SCHEMA_PRIVILEGES WHERE TABLE_SCHEMA = ? ORDER BY 1, 2',
          [database],
        ),
        rows: await all(`SELECT * FROM ${quoteMysqlIdentifier(database)}.${quoteMysqlIdentifier(table)} ORDER BY 1`),
      };
    },
    async makeByHand(name, password, powers = '') {
      await connection.query(`CREATE USER '${name}'@'%' IDENTIFIED BY '${password}'`);
      await connection.query(`CREATE DATABASE ${name} CHARACTER SET latin1`);
      await connection.query(`CREATE TABLE ${name}.cards (id INT PRIMARY KEY, number VARCHAR(40))`);
      await connection.query(`INSERT INTO ${name}.cards VALUES (1, '${HAND_MADE_CARD}')`);
      await connection.query(`GRANT SELECT ON ${name}.* TO '${name}'@'%'`);
      if (powers) await connection.query(`GRANT ${powers} ON *.* TO '${name}'@'%'`);
    },
    async dropByHand(name) {
      await connection.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await connection.query(`DROP USER IF EXISTS '${name}'@'%'`);
      await connection.query('DELETE FROM _flotilla.owners WHERE name = ?', [name]).catch(() => {});
    },
    async adminSessions() {
      const [rows] = await connection.query('SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE USER = ?', [
        admin.username,
      ]);
      return Number((rows as { n: number }[])[0]?.n ?? 0);
    },
    async loginAs({ username, password, database }) {
      const session = await mysql.createConnection({
        host: admin.host,
        port: admin.port,
        user: username,
        password,
        database,
      });
      return {
        query: async (sql) => (await session.query(sql))[0] as Record<string, unknown>[],
        close: () => session.end(),
      };
    },
    close: () => connection.end(),
  };
}
