// How tests reach the real database servers. `await databaseServer('postgres')` in a `before` returns the
// admin connection: the server named by FLOTILLA_POSTGRES_URL / FLOTILLA_MYSQL_URL, or the private
// loopback server, started (idempotently, under a lock) when it is not up. It fails, never skips.

import type { DatabaseEngineName } from '../../operator/src/database/identifiers.ts';
import type { AdminConnection } from '../../operator/src/database/index.ts';
import { credentialsDir, parseAdminUrl, URL_VARIABLES } from './config.ts';
import {
  mariadbDown,
  mariadbStatus,
  mariadbUp,
  postgresDown,
  postgresStatus,
  postgresUp,
  probe,
  type ServerStatus,
} from './local.ts';
import { withLock } from './lock.ts';

export { ADMIN_USERNAME, credentialsDir, passwordFile, runDir } from './config.ts';
export type { ServerStatus } from './local.ts';

const HOW_TO_GET_ONE: Record<DatabaseEngineName, string> = {
  postgres:
    '`npm run databases -- up` starts a private PostgreSQL on 127.0.0.1:15432 (as root it installs the ' +
    '`postgresql` package when missing); or set FLOTILLA_POSTGRES_URL=postgresql://admin:password@host:port/postgres.',
  mysql:
    '`npm run databases -- up` starts a private MariaDB on 127.0.0.1:13306 (as root it installs the ' +
    '`mariadb-server` package when missing); or set FLOTILLA_MYSQL_URL=mysql://admin:password@host:port/.',
};

/** The admin URL from the environment, when the user points the tests at an existing server. */
export function externalServer(
  engine: DatabaseEngineName,
  env: NodeJS.ProcessEnv = process.env,
): AdminConnection | undefined {
  const url = env[URL_VARIABLES[engine]];
  return url ? parseAdminUrl(engine, url) : undefined;
}

/** Starts the private server unless an external one is configured; returns its admin connection. */
export async function up(engine: DatabaseEngineName): Promise<AdminConnection> {
  const external = externalServer(engine);
  if (external) {
    const result = await probe(external);
    if (!result.ok) throw new Error(`${URL_VARIABLES[engine]} names a server the admin cannot use: ${result.why}`);
    return external;
  }
  const start = engine === 'postgres' ? postgresUp : mariadbUp;
  return withLock(credentialsDir(), engine, start);
}

export async function down(engine: DatabaseEngineName, purge = false): Promise<void> {
  if (externalServer(engine)) return;
  await withLock(credentialsDir(), engine, async () => {
    if (engine === 'postgres') postgresDown(purge);
    else await mariadbDown(purge);
  });
}

export async function status(engine: DatabaseEngineName): Promise<ServerStatus> {
  const external = externalServer(engine);
  if (external) {
    const result = await probe(external);
    return {
      engine,
      running: result.ok,
      lines: [
        `${engine}: external server ${external.host}:${external.port} from ${URL_VARIABLES[engine]}: ` +
          (result.ok ? `version ${result.version}` : result.why),
      ],
    };
  }
  return engine === 'postgres' ? postgresStatus() : mariadbStatus();
}

const connections = new Map<DatabaseEngineName, Promise<AdminConnection>>();

/** For tests: the admin connection of a real server, brought up once per process. */
export function databaseServer(engine: DatabaseEngineName): Promise<AdminConnection> {
  let pending = connections.get(engine);
  if (!pending) {
    pending = up(engine).catch((error: unknown) => {
      const why = error instanceof Error ? error.message : String(error);
      throw new Error(`No ${engine} server for this test: ${why}\nHow to get one: ${HOW_TO_GET_ONE[engine]}`);
    });
    connections.set(engine, pending);
  }
  return pending;
}
