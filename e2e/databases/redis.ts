// The private Redis (the engine of spec.cache) on 127.0.0.1:16379: data and ACL file under runDir()/redis,
// the admin password in credentialsDir(). The default user is off; the admin is flotilla_admin, kept in the
// ACL file by the SHA-256 of its password (never the password itself). As root it runs as the `redis` user.
import { spawn } from 'node:child_process';
import { chownSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRedisEngine, type RedisAdminConnection, redisPasswordHash } from '../../operator/src/database/index.ts';
import {
  ADMIN_USERNAME,
  credentialsDir,
  LOOPBACK,
  passwordFile,
  REDIS_PORT,
  REDIS_URL_VARIABLE,
  readOrCreatePassword,
  readPassword,
  runDir,
} from './config.ts';
import { aptInstallPackage, onPath } from './install.ts';
import {
  log,
  type OsUser,
  pidFromFile,
  type ServerStatus,
  serverDir,
  serverUser,
  stopProcess,
  tail,
  waitUntil,
} from './local.ts';
import { withLock } from './lock.ts';
import { externalStatus, localStatus, oncePerProcess } from './server-status.ts';

const HOW_TO_INSTALL =
  `install it as root with \`apt-get install redis-server\` (Debian/Ubuntu), or point ${REDIS_URL_VARIABLE} ` +
  'at an existing Redis 7 admin URL (redis://user:password@host:port)';

export const HOW_TO_GET_REDIS =
  `\`npm run databases -- up redis\` starts a private Redis on ${LOOPBACK}:${REDIS_PORT} (as root it installs the ` +
  `\`redis-server\` package when missing); or set ${REDIS_URL_VARIABLE}=redis://admin:password@host:port.`;

export function findRedis(): string | undefined {
  return onPath(['redis-server']);
}

function ensureRedis(): string {
  const found = findRedis();
  if (found) return found;
  aptInstallPackage('redis-server', 'Redis', HOW_TO_INSTALL);
  const installed = findRedis();
  if (!installed) throw new Error(`redis-server is still missing: ${HOW_TO_INSTALL}.`);
  return installed;
}

/** `redis://user:password@host:port` → the admin connection. Pure. */
export function parseRedisUrl(text: string): RedisAdminConnection {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`${REDIS_URL_VARIABLE} is not a URL (expected e.g. redis://admin:secret@127.0.0.1:6379)`);
  }
  if (url.protocol !== 'redis:') throw new Error(`${REDIS_URL_VARIABLE} must start with redis://`);
  if (!url.password) throw new Error(`${REDIS_URL_VARIABLE} has no password`);
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port ? Number(url.port) : 6379,
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    password: decodeURIComponent(url.password),
  };
}

export function externalRedis(env: NodeJS.ProcessEnv = process.env): RedisAdminConnection | undefined {
  const url = env[REDIS_URL_VARIABLE];
  return url ? parseRedisUrl(url) : undefined;
}

export function localRedisAdmin(): RedisAdminConnection | undefined {
  const password = readPassword('redis');
  return password ? { host: LOOPBACK, port: REDIS_PORT, username: ADMIN_USERNAME, password } : undefined;
}

/** Logs in as the admin and checks it may manage ACL users: the server's version, or why not. */
export async function probeRedis(
  admin: RedisAdminConnection,
): Promise<{ ok: true; version: string } | { ok: false; why: string }> {
  const engine = createRedisEngine({ ...admin, connectTimeoutMs: 3000 });
  try {
    const check = await engine.checkConnection();
    return check.ok
      ? { ok: true, version: check.serverVersion }
      : { ok: false, why: `${check.reason}: ${check.message}` };
  } finally {
    await engine.close();
  }
}

function redisPaths() {
  const user = serverUser('redis');
  const dir = serverDir('redis', user);
  return {
    user,
    dir,
    config: join(dir, 'redis.conf'),
    aclFile: join(dir, 'users.acl'),
    pidFile: join(dir, 'redis.pid'),
    log: join(dir, 'server.log'),
  };
}

/** The pid of our server: redis-server shows itself as "redis-server 127.0.0.1:16379". */
const redisPid = (pidFile: string) =>
  pidFromFile(pidFile, (command) => command.includes('redis-server') && command.includes(`:${REDIS_PORT}`));

function writeOwned(file: string, text: string, user: OsUser | undefined): void {
  writeFileSync(file, text, { mode: 0o600 });
  if (user) chownSync(file, user.uid, user.gid);
}

/** The server named by FLOTILLA_REDIS_URL (checked), or the private one, started unless it runs. */
export async function redisUp(): Promise<RedisAdminConnection> {
  const external = externalRedis();
  if (external) {
    const result = await probeRedis(external);
    if (!result.ok) throw new Error(`${REDIS_URL_VARIABLE} names a server the admin cannot use: ${result.why}`);
    return external;
  }
  return withLock(credentialsDir(), 'redis', startLocalRedis);
}

async function startLocalRedis(): Promise<RedisAdminConnection> {
  const program = ensureRedis();
  const { user, dir, config, aclFile, pidFile, log: logFile } = redisPaths();
  const { password } = readOrCreatePassword('redis');

  if (redisPid(pidFile) !== undefined) {
    log(`Redis is already running on ${LOOPBACK}:${REDIS_PORT}; reusing it`);
  } else {
    // Written on every start, so the admin always matches the password file; users the operator made are
    // in memory only (a cache's users are made again by the next reconcile).
    writeOwned(
      aclFile,
      [
        'user default off resetkeys resetchannels -@all',
        `user ${ADMIN_USERNAME} on #${redisPasswordHash(password)} ~* &* +@all`,
        '',
      ].join('\n'),
      user,
    );
    writeOwned(
      config,
      [
        '# flotilla: a private test server on loopback',
        `bind ${LOOPBACK}`,
        `port ${REDIS_PORT}`,
        'protected-mode yes',
        'daemonize no',
        `pidfile ${pidFile}`,
        `logfile ${logFile}`,
        `dir ${dir}`,
        'save ""',
        'appendonly no',
        `aclfile ${aclFile}`,
        'maxclients 1000',
        '',
      ].join('\n'),
      user,
    );
    log(`starting Redis on ${LOOPBACK}:${REDIS_PORT}`);
    const child = spawn(program, [config], {
      cwd: '/',
      detached: true,
      stdio: 'ignore',
      ...(user ? { uid: user.uid, gid: user.gid } : {}),
    });
    child.unref();
    let exited: number | null | undefined;
    child.on('exit', (code) => {
      exited = code;
    });
    await waitUntil('Redis to accept connections', 30_000, async () => {
      if (exited !== undefined) {
        throw new Error(`Redis exited at start (exit ${exited}); the end of ${logFile}:\n${tail(logFile)}`);
      }
      return redisPid(pidFile) !== undefined && (await probeRedis(localRedisAdmin() as RedisAdminConnection)).ok;
    });
  }
  const admin = localRedisAdmin();
  if (!admin) throw new Error(`the admin password file ${passwordFile('redis')} vanished`);
  const result = await probeRedis(admin);
  if (!result.ok) {
    throw new Error(
      `Redis runs but the admin cannot log in (${result.why}). Reset it with \`npm run databases -- down redis --purge\` then \`up redis\`.`,
    );
  }
  return admin;
}

export async function redisDown(purge: boolean): Promise<void> {
  if (externalRedis()) return;
  await withLock(credentialsDir(), 'redis', () => stopLocalRedis(purge));
}

async function stopLocalRedis(purge: boolean): Promise<void> {
  const { pidFile, dir } = redisPaths();
  const pid = redisPid(pidFile);
  if (pid !== undefined) await stopProcess(pid, 'Redis', () => redisPid(pidFile) === undefined);
  if (purge) {
    log(`removing ${dir} and ${passwordFile('redis')}`);
    rmSync(dir, { recursive: true, force: true });
    rmSync(passwordFile('redis'), { force: true });
  }
}

/** For tests: the admin connection of a real Redis, brought up once per process; fails (never skips) without one. */
export const redisServer = oncePerProcess('redis', redisUp, HOW_TO_GET_REDIS);

export async function redisStatus(): Promise<ServerStatus> {
  const external = externalRedis();
  if (external) {
    const where = `${external.host}:${external.port}`;
    return externalStatus('redis', where, REDIS_URL_VARIABLE, await probeRedis(external));
  }
  if (!findRedis()) {
    return { engine: 'redis', running: false, lines: ['redis: not installed (apt-get install redis-server)'] };
  }
  const running = redisPid(redisPaths().pidFile) !== undefined;
  const first = `redis: Redis ${running ? 'running' : 'stopped'} on ${LOOPBACK}:${REDIS_PORT}, in ${join(runDir(), 'redis')}`;
  return localStatus('redis', running, first, localRedisAdmin(), probeRedis);
}
