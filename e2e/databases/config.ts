// Where the private loopback database servers live, and their admin credentials.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DatabaseEngineName } from '../../operator/src/database/identifiers.ts';
import type { AdminConnection } from '../../operator/src/database/index.ts';
import { flotillaCacheRoot } from '../cluster/paths.ts';

export const ADMIN_USERNAME = 'flotilla_admin';
export const LOOPBACK = '127.0.0.1';
export const DEFAULT_PORTS: Record<DatabaseEngineName, number> = { postgres: 15432, mysql: 13306 };
export const ENGINES: readonly DatabaseEngineName[] = ['postgres', 'mysql'];

/** The private Redis (spec.cache) on loopback, and the variable that points the tests at another one. */
export const REDIS_PORT = 16379;
export const REDIS_URL_VARIABLE = 'FLOTILLA_REDIS_URL';

/**
 * The private RabbitMQ (spec.messaging) on loopback: AMQP, the management API, and the Erlang distribution and
 * port mapper ports of its own, so that it never meets a RabbitMQ or Erlang node of the machine.
 */
export const RABBITMQ_PORTS = { amqp: 15673, management: 15674, distribution: 25673, epmd: 14369 } as const;
export const RABBITMQ_URL_VARIABLE = 'FLOTILLA_RABBITMQ_URL';
export const RABBITMQ_AMQP_PORT_VARIABLE = 'FLOTILLA_RABBITMQ_AMQP_PORT';

/** What keeps an admin password in credentialsDir(): the two database engines, redis and rabbitmq. */
export type LocalServerName = DatabaseEngineName | 'redis' | 'rabbitmq';

/** The environment variable that points the scripts and tests at an existing server instead. */
export const URL_VARIABLES: Record<DatabaseEngineName, string> = {
  postgres: 'FLOTILLA_POSTGRES_URL',
  mysql: 'FLOTILLA_MYSQL_URL',
};

/** ~/.cache/flotilla/databases: the admin passwords (mode 0600), never printed except by `env`. */
export function credentialsDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(flotillaCacheRoot(env), 'databases');
}

/**
 * The servers' data, sockets and logs. Not under $HOME: /root is mode 700 and PostgreSQL cannot run as
 * root, so as root the servers run as the `postgres` and `mysql` users and need a folder they can reach.
 */
export function runDir(uid: number = process.getuid?.() ?? 0): string {
  return `/var/tmp/flotilla-databases-${uid}`;
}

export function passwordFile(engine: LocalServerName, env: NodeJS.ProcessEnv = process.env): string {
  return join(credentialsDir(env), `${engine}-admin-password`);
}

/** The admin password of the local server, generated once (crypto-random) and kept mode 0600. */
export function readOrCreatePassword(engine: LocalServerName): { password: string; created: boolean } {
  const file = passwordFile(engine);
  if (existsSync(file)) {
    const password = readFileSync(file, 'utf8').trim();
    if (password) return { password, created: false };
  }
  mkdirSync(credentialsDir(), { recursive: true, mode: 0o700 });
  chmodSync(credentialsDir(), 0o700);
  const password = randomBytes(24).toString('base64url');
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, `${password}\n`, { mode: 0o600 });
  renameSync(temporary, file);
  return { password, created: true };
}

export function readPassword(engine: LocalServerName): string | undefined {
  const file = passwordFile(engine);
  return existsSync(file) ? readFileSync(file, 'utf8').trim() || undefined : undefined;
}

/** `postgresql://user:password@host:port/db` or `mysql://…` → an AdminConnection. Pure. */
export function parseAdminUrl(engine: DatabaseEngineName, text: string): AdminConnection {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`${URL_VARIABLES[engine]} is not a URL (expected e.g. ${exampleUrl(engine)})`);
  }
  const schemes = engine === 'postgres' ? ['postgres:', 'postgresql:'] : ['mysql:', 'mariadb:'];
  if (!schemes.includes(url.protocol)) {
    throw new Error(`${URL_VARIABLES[engine]} must start with ${schemes[0]}// (expected e.g. ${exampleUrl(engine)})`);
  }
  if (!url.username) throw new Error(`${URL_VARIABLES[engine]} has no user name`);
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  return {
    engine,
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port ? Number(url.port) : engine === 'postgres' ? 5432 : 3306,
    username: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    ...(engine === 'postgres' && database ? { database } : {}),
  };
}

function exampleUrl(engine: DatabaseEngineName): string {
  return engine === 'postgres'
    ? 'postgresql://admin:secret@127.0.0.1:5432/postgres'
    : 'mysql://root:secret@127.0.0.1:3306/';
}
