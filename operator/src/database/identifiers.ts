// Names of databases and roles: derived from the MicroService, validated against a strict allow-list,
// and always quoted as well when they go into SQL.
import type { DatabaseEngine } from '../api/databaseserver.ts';
import { sha256Hex } from '../common/hash.ts';

/** The engine list is api/'s (DATABASE_ENGINES); the name of one of them. */
export type DatabaseEngineName = DatabaseEngine;

/** The same allow-list as the MicroService CRD's spec.database.name. */
const IDENTIFIER_PATTERN = /^[a-z_][a-z0-9_]*$/;

/** PostgreSQL: NAMEDATALEN - 1 bytes. MySQL: 64 for schemas; 32 for user names (MySQL 8; MariaDB allows 80). */
export const MAX_DATABASE_NAME_LENGTH: Record<DatabaseEngineName, number> = { postgres: 63, mysql: 64 };
export const MAX_USERNAME_LENGTH: Record<DatabaseEngineName, number> = { postgres: 63, mysql: 32 };

/** The database that holds Flotilla's marks of ownership on a mysql server (computeDatabaseName never makes it). */
export const MARKS_DATABASE = '_flotilla';

/** Names that belong to the server itself (or to Flotilla) and are never given to a service. */
const RESERVED = new Set([
  'postgres',
  'template0',
  'template1',
  'public',
  'mysql',
  'sys',
  'information_schema',
  'performance_schema',
  'root',
  'mariadb_sys',
  MARKS_DATABASE,
]);

/**
 * The length a database name takes where the engine is strictest: on mysql, GRANT … ON `name`.* needs every
 * `_` escaped as `\_` (else it is a wildcard), and the escaped name must fit the limit too.
 */
function identifierCost(engine: DatabaseEngineName, value: string): number {
  return engine === 'mysql' ? value.length + (value.match(/_/g)?.length ?? 0) : value.length;
}

function isReserved(value: string): boolean {
  return RESERVED.has(value) || value.startsWith('pg_');
}

export class InvalidIdentifierError extends Error {
  override name = 'InvalidIdentifierError';
}

/** Throws InvalidIdentifierError unless `value` is a safe database or user name for `engine`. */
export function validateIdentifier(engine: DatabaseEngineName, kind: 'database' | 'username', value: string): string {
  const max = kind === 'database' ? MAX_DATABASE_NAME_LENGTH[engine] : MAX_USERNAME_LENGTH[engine];
  const shown = JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
  if (!IDENTIFIER_PATTERN.test(value)) {
    throw new InvalidIdentifierError(
      `${kind} name ${shown} is not allowed: use lowercase letters, digits and underscores, not starting with a digit`,
    );
  }
  if (value.length > max) {
    throw new InvalidIdentifierError(`${kind} name ${shown} is longer than ${max} characters, the limit on ${engine}`);
  }
  if (isReserved(value)) {
    throw new InvalidIdentifierError(`${kind} name ${shown} is reserved by the server`);
  }
  return value;
}

/** `"name"` with embedded double quotes doubled: a PostgreSQL quoted identifier. */
export function quotePostgresIdentifier(value: string): string {
  if (value.includes('\0')) throw new InvalidIdentifierError('an identifier cannot contain a NUL character');
  return `"${value.replaceAll('"', '""')}"`;
}

/** `` `name` `` with embedded backticks doubled: a MySQL/MariaDB quoted identifier. */
export function quoteMysqlIdentifier(value: string): string {
  if (value.includes('\0')) throw new InvalidIdentifierError('an identifier cannot contain a NUL character');
  return `\`${value.replaceAll('`', '``')}\``;
}

/** `'text'` with quotes doubled and backslashes escaped: a MySQL string literal (also for account names). */
export function quoteMysqlString(value: string): string {
  if (value.includes('\0')) throw new InvalidIdentifierError('a string literal cannot contain a NUL character');
  return `'${value.replaceAll('\\', '\\\\').replaceAll("'", "''")}'`;
}

/**
 * A PostgreSQL string literal. With backslashes it uses the E'' form so the meaning does not depend on
 * standard_conforming_strings (the same rule as libpq's PQescapeLiteral).
 */
export function quotePostgresString(value: string): string {
  if (value.includes('\0')) throw new InvalidIdentifierError('a string literal cannot contain a NUL character');
  const body = value.replaceAll("'", "''");
  return value.includes('\\') ? `E'${body.replaceAll('\\', '\\\\')}'` : `'${body}'`;
}

function shortHash(text: string, length: number): string {
  return sha256Hex(text).slice(0, length);
}

/**
 * Shortens `base` until `cost` fits `max`, keeping it unique with a hash of `seed` when it had to be cut.
 */
function fitWithHash(base: string, max: number, seed: string, cost: (s: string) => number = (s) => s.length): string {
  if (cost(base) <= max) return base;
  const suffix = `_${shortHash(seed, 10)}`;
  let head = base.slice(0, max - suffix.length);
  while (head && cost(`${head}${suffix}`) > max) head = head.slice(0, -1);
  return `${head.replace(/_+$/, '')}${suffix}`;
}

/**
 * The database name of a MicroService: spec.database.name when set, else `<namespace>_<name>` with dashes
 * and dots turned into underscores (a dot also adds a hash, so `a-b` and `a.b` differ), cut to the engine's
 * limit with a hash of the full name. Pure and deterministic.
 */
export function computeDatabaseName(
  engine: DatabaseEngineName,
  namespace: string,
  name: string,
  explicitName?: string,
): string {
  if (explicitName) return validateIdentifier(engine, 'database', explicitName);
  const seed = `${namespace}/${name}`;
  let base = `${namespace}_${name}`.replace(/[-.]/g, '_');
  if (name.includes('.')) base = `${base}_${shortHash(seed, 10)}`;
  if (/^[0-9]/.test(base) || isReserved(base)) base = `_${base}`;
  const database = fitWithHash(base, MAX_DATABASE_NAME_LENGTH[engine], seed, (s) => identifierCost(engine, s));
  return validateIdentifier(engine, 'database', database);
}

/** The role (user) of a database: its name, cut with a hash where the engine's user names are shorter. */
export function computeUsername(engine: DatabaseEngineName, database: string): string {
  return validateIdentifier(engine, 'username', fitWithHash(database, MAX_USERNAME_LENGTH[engine], database));
}

/**
 * Validates a service's database and user names before any SQL is built from them, and refuses the
 * server's admin user (managing it would change or drop the operator's own login).
 */
export function validateTarget(
  engine: DatabaseEngineName,
  target: { database: string; username: string },
  adminUsername: string,
): { database: string; username: string } {
  const database = validateIdentifier(engine, 'database', target.database);
  const username = validateIdentifier(engine, 'username', target.username);
  if (username === adminUsername) {
    throw new InvalidIdentifierError(`refusing to manage ${JSON.stringify(username)}: it is the server's admin user`);
  }
  return { database, username };
}

/**
 * On mysql a database is granted as `name` with each `_` escaped; a name whose escaped form is longer than
 * 64 characters can be created and dropped but not granted, so ensureDatabase refuses it up front.
 */
export function checkMysqlGrantable(database: string): string {
  const max = MAX_DATABASE_NAME_LENGTH.mysql;
  if (identifierCost('mysql', database) > max) {
    throw new InvalidIdentifierError(
      `database name ${JSON.stringify(database)} is too long for mysql: in GRANT each underscore is escaped ` +
        `with a backslash, and the escaped name must fit in ${max} characters`,
    );
  }
  return database;
}
