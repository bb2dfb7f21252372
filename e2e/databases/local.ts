// The private PostgreSQL and MariaDB servers on loopback: data under runDir(), admin passwords in
// credentialsDir(). As root the servers run as the `postgres` and `mysql` users (PostgreSQL refuses root).
import { type SpawnSyncOptions, spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DatabaseEngineName } from '../../operator/src/database/identifiers.ts';
import { type AdminConnection, createEngine } from '../../operator/src/database/index.ts';
import {
  ADMIN_USERNAME,
  DEFAULT_PORTS,
  LOOPBACK,
  type LocalServerName,
  passwordFile,
  readOrCreatePassword,
  readPassword,
  runDir,
} from './config.ts';
import { ensureMariadb, ensurePostgres, findMariadb, findPostgres } from './install.ts';
import { localStatus } from './server-status.ts';

export interface ServerStatus {
  engine: LocalServerName;
  running: boolean;
  lines: string[];
}

export interface OsUser {
  uid: number;
  gid: number;
}

export function log(message: string): void {
  console.error(`[databases] ${message}`);
}

const isRoot = () => process.getuid?.() === 0;

/** As root: the OS user the server runs as. Otherwise undefined: the server runs as us. */
export function serverUser(name: 'postgres' | 'mysql' | 'redis' | 'rabbitmq'): OsUser | undefined {
  if (!isRoot()) return undefined;
  const uid = spawnSync('id', ['-u', name], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', name], { encoding: 'utf8' });
  if (uid.status !== 0 || gid.status !== 0) {
    throw new Error(`the OS user ${name} is missing; it comes with the server's Debian package`);
  }
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/** A folder only the server's user can enter (mode 0700), inside runDir() which others may traverse. */
export function serverDir(name: string, user: OsUser | undefined): string {
  const top = runDir();
  mkdirSync(top, { recursive: true, mode: 0o755 });
  // /var/tmp is shared: a folder someone else made in our name is refused, not used.
  const owner = lstatSync(top);
  if (!owner.isDirectory() || owner.uid !== process.getuid?.()) {
    throw new Error(`${top} is not a folder of this user; remove it and try again`);
  }
  chmodSync(top, user ? 0o755 : 0o700);
  const dir = join(top, name);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (user) chownSync(dir, user.uid, user.gid);
  chmodSync(dir, 0o700);
  return dir;
}

export function run(command: string, args: string[], user: OsUser | undefined, options: SpawnSyncOptions = {}) {
  return spawnSync(command, args, {
    encoding: 'utf8',
    cwd: '/',
    timeout: 120_000,
    ...(user ? { uid: user.uid, gid: user.gid } : {}),
    ...options,
  });
}

export function tail(file: string, lines = 15): string {
  if (!existsSync(file)) return '(no log)';
  return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}

export function localAdmin(engine: DatabaseEngineName): AdminConnection | undefined {
  const password = readPassword(engine);
  if (!password) return undefined;
  return {
    engine,
    host: LOOPBACK,
    port: DEFAULT_PORTS[engine],
    username: ADMIN_USERNAME,
    password,
    ...(engine === 'postgres' ? { database: 'postgres' } : {}),
  };
}

/** Logs in as the admin: the server's version, or why not. */
export async function probe(
  admin: AdminConnection,
): Promise<{ ok: true; version: string } | { ok: false; why: string }> {
  const engine = createEngine({ ...admin, maxConnections: 1, connectTimeoutMs: 3000 });
  try {
    const check = await engine.checkConnection();
    return check.ok
      ? { ok: true, version: check.serverVersion }
      : { ok: false, why: `${check.reason}: ${check.message}` };
  } finally {
    await engine.close();
  }
}

export async function waitUntil(
  what: string,
  timeoutMs: number,
  check: () => boolean | Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

// ---------------------------------------------------------------- PostgreSQL

function postgresPaths() {
  const user = serverUser('postgres');
  const dir = serverDir('postgres', user);
  return { user, dir, data: join(dir, 'data'), log: join(dir, 'server.log') };
}

function postgresRunning(pgCtl: string, data: string, user: OsUser | undefined): boolean {
  return existsSync(join(data, 'PG_VERSION')) && run(pgCtl, ['status', '-D', data], user).status === 0;
}

export async function postgresUp(): Promise<AdminConnection> {
  const programs = ensurePostgres();
  const { user, dir, data, log: logFile } = postgresPaths();
  const { password, created } = readOrCreatePassword('postgres');
  const port = DEFAULT_PORTS.postgres;

  if (created && existsSync(data)) {
    // A new password means the old cluster's admin password is lost; its data is only test data.
    log(`a new admin password was generated; recreating the PostgreSQL data folder ${data}`);
    run(programs.pgCtl, ['stop', '-D', data, '-m', 'immediate', '-w'], user);
    rmSync(data, { recursive: true, force: true });
  }

  if (!existsSync(join(data, 'PG_VERSION'))) {
    rmSync(data, { recursive: true, force: true });
    log(`initdb ${data} (PostgreSQL ${programs.version})`);
    const pwfile = join(dir, 'initdb-password');
    writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
    if (user) chownSync(pwfile, user.uid, user.gid);
    try {
      const init = run(
        programs.initdb,
        [
          '-D',
          data,
          '-U',
          ADMIN_USERNAME,
          `--pwfile=${pwfile}`,
          '-A',
          'scram-sha-256',
          '-E',
          'UTF8',
          '--locale=C',
          '--no-sync',
        ],
        user,
      );
      if (init.status !== 0) throw new Error(`initdb failed (exit ${init.status}):\n${init.stdout}${init.stderr}`);
    } finally {
      rmSync(pwfile, { force: true });
    }
    const settings = [
      '',
      '# flotilla: a private test server on loopback',
      `listen_addresses = '${LOOPBACK}'`,
      `port = ${port}`,
      `unix_socket_directories = '${dir}'`,
      'max_connections = 200',
      'fsync = off',
      'synchronous_commit = off',
      'full_page_writes = off',
      '',
    ].join('\n');
    writeFileSync(join(data, 'postgresql.conf'), `${readFileSync(join(data, 'postgresql.conf'), 'utf8')}${settings}`);
  }

  if (postgresRunning(programs.pgCtl, data, user)) {
    log(`PostgreSQL is already running on ${LOOPBACK}:${port}; reusing it`);
  } else {
    log(`starting PostgreSQL on ${LOOPBACK}:${port}`);
    const start = run(programs.pgCtl, ['start', '-D', data, '-l', logFile, '-w', '-t', '60'], user, {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (start.status !== 0) {
      throw new Error(
        `PostgreSQL did not start (pg_ctl exit ${start.status}); the end of ${logFile}:\n${tail(logFile)}`,
      );
    }
  }
  const admin = localAdmin('postgres');
  if (!admin) throw new Error(`the admin password file ${passwordFile('postgres')} vanished`);
  const result = await probe(admin);
  if (!result.ok) {
    throw new Error(
      `PostgreSQL runs but the admin cannot log in (${result.why}). Reset it with \`npm run databases -- down --purge\` then \`up\`.`,
    );
  }
  return admin;
}

export function postgresDown(purge: boolean): void {
  const programs = findPostgres();
  const { user, data } = postgresPaths();
  if (programs && postgresRunning(programs.pgCtl, data, user)) {
    log('stopping PostgreSQL');
    const stop = run(programs.pgCtl, ['stop', '-D', data, '-m', 'fast', '-w', '-t', '60'], user);
    if (stop.status !== 0) throw new Error(`pg_ctl stop failed (exit ${stop.status}): ${stop.stderr}`);
  }
  if (purge) purgeServer('postgres');
}

export async function postgresStatus(): Promise<ServerStatus> {
  const programs = findPostgres();
  if (!programs)
    return { engine: 'postgres', running: false, lines: ['postgres: not installed (apt-get install postgresql)'] };
  const { user, data } = postgresPaths();
  const running = postgresRunning(programs.pgCtl, data, user);
  return statusLines('postgres', running, data);
}

// ---------------------------------------------------------------- MariaDB

function mariadbPaths() {
  const user = serverUser('mysql');
  const dir = serverDir('mariadb', user);
  return {
    user,
    dir,
    data: join(dir, 'data'),
    log: join(dir, 'server.log'),
    socket: join(dir, 'mariadbd.sock'),
    pidFile: join(dir, 'mariadbd.pid'),
  };
}

/**
 * The pid in `pidFile` when it names a live process whose command line passes `isOurs`: a pid file left by a
 * crash may name a process that is something else by now.
 */
export function pidFromFile(pidFile: string, isOurs: (commandLine: string) => boolean): number | undefined {
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    return isOurs(readFileSync(`/proc/${pid}/cmdline`, 'utf8')) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** SIGTERM, then SIGKILL when `gone` is still false 30 s later. */
export async function stopProcess(pid: number, what: string, gone: () => boolean): Promise<void> {
  log(`stopping ${what}`);
  process.kill(pid, 'SIGTERM');
  try {
    await waitUntil(`${what} to stop`, 30_000, gone);
  } catch {
    process.kill(pid, 'SIGKILL');
    await waitUntil(`${what} to stop after SIGKILL`, 10_000, gone);
  }
}

const mariadbPid = (pidFile: string) => pidFromFile(pidFile, (command) => command.includes(pidFile));

/** The OS user running this script: mariadb-install-db gives that name an account authenticated by the socket. */
function osUserName(): string {
  return spawnSync('id', ['-un'], { encoding: 'utf8' }).stdout.trim() || 'root';
}

/** Runs SQL as the socket-authenticated superuser of the private server; the SQL goes through stdin. */
function mariadbSql(client: string, socket: string, sql: string) {
  return run(client, ['--no-defaults', `--socket=${socket}`, '-u', osUserName(), '--batch'], undefined, { input: sql });
}

export async function mariadbUp(): Promise<AdminConnection> {
  const programs = ensureMariadb();
  const { user, data, log: logFile, socket, pidFile } = mariadbPaths();
  const { password } = readOrCreatePassword('mysql');
  const port = DEFAULT_PORTS.mysql;

  if (!existsSync(join(data, 'mysql'))) {
    rmSync(data, { recursive: true, force: true });
    log(`mariadb-install-db ${data}`);
    const init = run(
      programs.installDb,
      [
        '--no-defaults',
        `--datadir=${data}`,
        '--auth-root-authentication-method=socket',
        `--auth-root-socket-user=${osUserName()}`,
        '--skip-test-db',
        '--skip-name-resolve',
      ],
      user,
    );
    if (init.status !== 0)
      throw new Error(`mariadb-install-db failed (exit ${init.status}):\n${init.stdout}${init.stderr}`);
  }

  if (mariadbPid(pidFile) !== undefined) {
    log(`MariaDB is already running on ${LOOPBACK}:${port}; reusing it`);
  } else {
    log(`starting MariaDB on ${LOOPBACK}:${port}`);
    const child = spawn(
      programs.server,
      [
        '--no-defaults',
        `--datadir=${data}`,
        `--port=${port}`,
        `--bind-address=${LOOPBACK}`,
        `--socket=${socket}`,
        `--pid-file=${pidFile}`,
        `--log-error=${logFile}`,
        '--skip-name-resolve',
        '--max-connections=200',
        '--character-set-server=utf8mb4',
        '--innodb-flush-log-at-trx-commit=0',
        '--innodb-buffer-pool-size=64M',
      ],
      { cwd: '/', detached: true, stdio: 'ignore', ...(user ? { uid: user.uid, gid: user.gid } : {}) },
    );
    child.unref();
    let exited: number | null | undefined;
    child.on('exit', (code) => {
      exited = code;
    });
    await waitUntil('MariaDB to accept connections', 60_000, () => {
      if (exited !== undefined) {
        throw new Error(`MariaDB exited at start (exit ${exited}); the end of ${logFile}:\n${tail(logFile)}`);
      }
      return mariadbSql(programs.client, socket, 'SELECT 1').status === 0;
    });
  }

  // The admin account, made to match the password file on every `up` (idempotent).
  const quoted = `'${password.replaceAll("'", "''")}'`;
  const setup = mariadbSql(
    programs.client,
    socket,
    [
      `CREATE USER IF NOT EXISTS '${ADMIN_USERNAME}'@'%' IDENTIFIED BY ${quoted};`,
      `ALTER USER '${ADMIN_USERNAME}'@'%' IDENTIFIED BY ${quoted};`,
      `GRANT ALL PRIVILEGES ON *.* TO '${ADMIN_USERNAME}'@'%' WITH GRANT OPTION;`,
      "DELETE FROM mysql.global_priv WHERE User = '';",
      'FLUSH PRIVILEGES;',
    ].join('\n'),
  );
  if (setup.status !== 0)
    throw new Error(
      `setting up MariaDB's admin user failed: ${String(setup.stderr).replaceAll(password, '[redacted]')}`,
    );

  const admin = localAdmin('mysql');
  if (!admin) throw new Error(`the admin password file ${passwordFile('mysql')} vanished`);
  const result = await probe(admin);
  if (!result.ok) throw new Error(`MariaDB runs but the admin cannot log in: ${result.why}`);
  return admin;
}

export async function mariadbDown(purge: boolean): Promise<void> {
  const { pidFile } = mariadbPaths();
  const pid = mariadbPid(pidFile);
  if (pid !== undefined) {
    await stopProcess(pid, 'MariaDB', () => {
      try {
        process.kill(pid, 0);
        return false;
      } catch {
        return true;
      }
    });
  }
  if (purge) purgeServer('mysql');
}

export async function mariadbStatus(): Promise<ServerStatus> {
  if (!findMariadb())
    return {
      engine: 'mysql',
      running: false,
      lines: ['mysql: MariaDB not installed (apt-get install mariadb-server)'],
    };
  const { pidFile, data } = mariadbPaths();
  return statusLines('mysql', mariadbPid(pidFile) !== undefined, data);
}

// ---------------------------------------------------------------- both

function statusLines(engine: DatabaseEngineName, running: boolean, data: string): Promise<ServerStatus> {
  const name = engine === 'postgres' ? 'PostgreSQL' : 'MariaDB';
  const first = `${engine}: ${name} ${running ? 'running' : 'stopped'} on ${LOOPBACK}:${DEFAULT_PORTS[engine]}, data ${data}`;
  return localStatus(engine, running, first, localAdmin(engine), probe);
}

function purgeServer(engine: DatabaseEngineName): void {
  const dir = join(runDir(), engine === 'postgres' ? 'postgres' : 'mariadb');
  log(`removing ${dir} and ${passwordFile(engine)}`);
  rmSync(dir, { recursive: true, force: true });
  rmSync(passwordFile(engine), { force: true });
}
