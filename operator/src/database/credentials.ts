// The service's credentials: a crypto-random password and the DATABASE_URL and Secret data built from them.
import { randomBytes } from 'node:crypto';
import type { DatabaseEngineName } from './identifiers.ts';

/** Bytes of randomness in a generated password: 32 bytes = 256 bits = 43 base64url characters. */
export const PASSWORD_BYTES = 32;

/**
 * A new password: base64url of 32 crypto-random bytes (43 characters of A-Z a-z 0-9 - _), so it needs no
 * escaping in URLs, shells or SQL. `random` is injectable for tests only.
 */
export function generatePassword(random: (size: number) => Buffer = randomBytes): string {
  const bytes = random(PASSWORD_BYTES);
  if (bytes.length !== PASSWORD_BYTES) throw new Error(`expected ${PASSWORD_BYTES} random bytes, got ${bytes.length}`);
  return bytes.toString('base64url');
}

export interface DatabaseCredentials {
  engine: DatabaseEngineName;
  host: string;
  port: number;
  database: string;
  username: string;
  password: string;
}

const SCHEMES: Record<DatabaseEngineName, string> = { postgres: 'postgresql', mysql: 'mysql' };

/** Percent-encodes every character outside RFC 3986's unreserved set. */
export function encodeComponent(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** `postgresql://user:password@host:port/database` (or `mysql://…`), every part percent-encoded. Pure. */
export function buildDatabaseUrl(credentials: DatabaseCredentials): string {
  const { engine, host, port, database, username, password } = credentials;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`invalid port ${port}`);
  const hostPart = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return `${SCHEMES[engine]}://${encodeComponent(username)}:${encodeComponent(password)}@${hostPart}:${port}/${encodeComponent(database)}`;
}

/** The data of the Secret `<name>-db`: keys DATABASE_URL, host, port, database, username, password. Pure. */
export function buildDatabaseSecretData(credentials: DatabaseCredentials): Record<string, string> {
  return {
    DATABASE_URL: buildDatabaseUrl(credentials),
    host: credentials.host,
    port: String(credentials.port),
    database: credentials.database,
    username: credentials.username,
    password: credentials.password,
  };
}
