// The private RabbitMQ (the engine of spec.messaging) on 127.0.0.1: AMQP on 15673, the management API on 15674,
// its own node name, Erlang cookie, distribution port and port mapper (epmd on 14369), all under
// runDir()/rabbitmq. The admin flotilla_admin (tag administrator) comes from a definitions file imported at
// every start, which holds the salted hash of its password, never the password; no guest user is made. As root
// it runs as the `rabbitmq` user.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type BrokerAdminConnection, rabbitPasswordHash } from '../../operator/src/database/broker-user.ts';
import { createRabbitmqEngine } from '../../operator/src/database/rabbitmq.ts';
import {
  ADMIN_USERNAME,
  credentialsDir,
  LOOPBACK,
  passwordFile,
  RABBITMQ_AMQP_PORT_VARIABLE,
  RABBITMQ_PORTS,
  RABBITMQ_URL_VARIABLE,
  readOrCreatePassword,
  readPassword,
  runDir,
} from './config.ts';
import { aptInstallPackage } from './install.ts';
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

/** A RabbitMQ as the tests use it: the admin's management API, and where services connect over AMQP. */
export interface RabbitmqServer extends BrokerAdminConnection {
  amqpHost: string;
  amqpPort: number;
}

const PROGRAM = '/usr/lib/rabbitmq/bin/rabbitmq-server';

const HOW_TO_INSTALL =
  'install it as root with `apt-get install --no-install-recommends rabbitmq-server` (Debian/Ubuntu), or point ' +
  `${RABBITMQ_URL_VARIABLE} at an existing RabbitMQ's management API (http://admin:password@host:15672, with ` +
  `${RABBITMQ_AMQP_PORT_VARIABLE} when its AMQP port is not 5672)`;

export const HOW_TO_GET_RABBITMQ =
  `\`npm run databases -- up rabbitmq\` starts a private RabbitMQ on ${LOOPBACK}:${RABBITMQ_PORTS.amqp} (management ` +
  `API on ${RABBITMQ_PORTS.management}; as root it installs the \`rabbitmq-server\` package when missing); or set ` +
  `${RABBITMQ_URL_VARIABLE}=http://admin:password@host:15672.`;

function ensureRabbitmq(): string {
  if (existsSync(PROGRAM)) return PROGRAM;
  aptInstallPackage('rabbitmq-server', 'RabbitMQ', HOW_TO_INSTALL);
  if (!existsSync(PROGRAM)) throw new Error(`${PROGRAM} is still missing: ${HOW_TO_INSTALL}.`);
  return PROGRAM;
}

/** `http://user:password@host:port` (+ the AMQP port) → the server. Pure. */
export function parseRabbitmqUrl(text: string, amqpPort?: string): RabbitmqServer {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`${RABBITMQ_URL_VARIABLE} is not a URL (expected e.g. http://admin:secret@127.0.0.1:15672)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`${RABBITMQ_URL_VARIABLE} must start with http:// or https://`);
  }
  if (!url.username || !url.password) throw new Error(`${RABBITMQ_URL_VARIABLE} needs a user name and a password`);
  const username = decodeURIComponent(url.username);
  const password = decodeURIComponent(url.password);
  url.username = '';
  url.password = '';
  return {
    managementUrl: url.toString().replace(/\/+$/, ''),
    username,
    password,
    amqpHost: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    amqpPort: amqpPort ? Number(amqpPort) : 5672,
  };
}

export function externalRabbitmq(env: NodeJS.ProcessEnv = process.env): RabbitmqServer | undefined {
  const url = env[RABBITMQ_URL_VARIABLE];
  return url ? parseRabbitmqUrl(url, env[RABBITMQ_AMQP_PORT_VARIABLE]) : undefined;
}

export function localRabbitmqAdmin(): RabbitmqServer | undefined {
  const password = readPassword('rabbitmq');
  return password
    ? {
        managementUrl: `http://${LOOPBACK}:${RABBITMQ_PORTS.management}`,
        username: ADMIN_USERNAME,
        password,
        amqpHost: LOOPBACK,
        amqpPort: RABBITMQ_PORTS.amqp,
      }
    : undefined;
}

/** Logs in to the management API as the admin: the server's version, or why not. */
export async function probeRabbitmq(
  admin: BrokerAdminConnection,
): Promise<{ ok: true; version: string } | { ok: false; why: string }> {
  const check = await createRabbitmqEngine({ ...admin, timeoutMs: 10_000 }).checkConnection();
  return check.ok
    ? { ok: true, version: check.serverVersion }
    : { ok: false, why: `${check.reason}: ${check.message}` };
}

function rabbitmqPaths() {
  const user = serverUser('rabbitmq');
  const dir = serverDir('rabbitmq', user);
  return {
    user,
    dir,
    config: join(dir, 'rabbitmq.conf'),
    definitions: join(dir, 'definitions.json'),
    plugins: join(dir, 'enabled_plugins'),
    cookie: join(dir, '.erlang.cookie'),
    pidFile: join(dir, 'rabbitmq.pid'),
    logDir: join(dir, 'log'),
    out: join(dir, 'server.out'),
  };
}

/** The environment of our node: every file and port its own. */
function rabbitmqEnv(dir: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
    HOME: dir,
    LANG: 'C.UTF-8',
    RABBITMQ_NODENAME: 'flotilla@localhost',
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf'),
    RABBITMQ_ADVANCED_CONFIG_FILE: join(dir, 'advanced.config'),
    RABBITMQ_CONF_ENV_FILE: join(dir, 'rabbitmq-env.conf'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
    RABBITMQ_PID_FILE: join(dir, 'rabbitmq.pid'),
    RABBITMQ_DIST_PORT: String(RABBITMQ_PORTS.distribution),
    ERL_EPMD_PORT: String(RABBITMQ_PORTS.epmd),
    ERL_EPMD_ADDRESS: LOOPBACK,
    // The distribution port on loopback too (it listens on every address by default).
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
  };
}

/** The pid of our node: the Erlang VM started with `-home <dir>`. */
const rabbitmqPid = (pidFile: string, dir: string) =>
  pidFromFile(pidFile, (command) => command.includes('beam') && command.includes(`-home\0${dir}\0`));

function writeOwned(file: string, text: string, user: OsUser | undefined, mode = 0o600): void {
  writeFileSync(file, text, { mode });
  if (user) chownSync(file, user.uid, user.gid);
}

/** The server named by FLOTILLA_RABBITMQ_URL (checked), or the private one, started unless it runs. */
export async function rabbitmqUp(): Promise<RabbitmqServer> {
  const external = externalRabbitmq();
  if (external) {
    const result = await probeRabbitmq(external);
    if (!result.ok) throw new Error(`${RABBITMQ_URL_VARIABLE} names a server the admin cannot use: ${result.why}`);
    return external;
  }
  return withLock(credentialsDir(), 'rabbitmq', startLocalRabbitmq);
}

async function startLocalRabbitmq(): Promise<RabbitmqServer> {
  const program = ensureRabbitmq();
  const paths = rabbitmqPaths();
  const { user, dir } = paths;
  const { password } = readOrCreatePassword('rabbitmq');

  if (rabbitmqPid(paths.pidFile, dir) !== undefined) {
    log(`RabbitMQ is already running on ${LOOPBACK}:${RABBITMQ_PORTS.amqp}; reusing it`);
  } else {
    // Written on every start, so the admin always matches the password file.
    const definitions = {
      users: [
        {
          name: ADMIN_USERNAME,
          password_hash: rabbitPasswordHash(password, randomBytes(4)),
          hashing_algorithm: 'rabbit_password_hashing_sha256',
          tags: ['administrator'],
        },
      ],
      vhosts: [{ name: '/' }],
      permissions: [{ user: ADMIN_USERNAME, vhost: '/', configure: '.*', write: '.*', read: '.*' }],
    };
    writeOwned(paths.definitions, `${JSON.stringify(definitions)}\n`, user);
    writeOwned(
      paths.config,
      [
        '# flotilla: a private test server on loopback',
        `listeners.tcp.1 = ${LOOPBACK}:${RABBITMQ_PORTS.amqp}`,
        `management.tcp.ip = ${LOOPBACK}`,
        `management.tcp.port = ${RABBITMQ_PORTS.management}`,
        `load_definitions = ${paths.definitions}`,
        'log.console = false',
        `log.file = ${join(paths.logDir, 'rabbit.log')}`,
        '',
      ].join('\n'),
      user,
    );
    writeOwned(paths.plugins, '[rabbitmq_management].\n', user);
    if (!existsSync(paths.cookie)) writeOwned(paths.cookie, randomBytes(20).toString('hex'), user, 0o400);
    for (const name of ['advanced.config', 'rabbitmq-env.conf']) {
      writeOwned(join(dir, name), name === 'advanced.config' ? '[].\n' : '', user);
    }
    log(`starting RabbitMQ on ${LOOPBACK}:${RABBITMQ_PORTS.amqp} (management API on ${RABBITMQ_PORTS.management})`);
    const child = spawn('/bin/sh', ['-c', `exec "${program}" >"${paths.out}" 2>&1`], {
      cwd: dir,
      detached: true,
      stdio: 'ignore',
      env: rabbitmqEnv(dir),
      ...(user ? { uid: user.uid, gid: user.gid } : {}),
    });
    child.unref();
    let exited: number | null | undefined;
    child.on('exit', (code) => {
      exited = code;
    });
    await waitUntil('RabbitMQ to answer on its management API', 90_000, async () => {
      if (exited !== undefined) {
        throw new Error(`RabbitMQ exited at start (exit ${exited}); the end of ${paths.out}:\n${tail(paths.out)}`);
      }
      return (await probeRabbitmq(localRabbitmqAdmin() as RabbitmqServer)).ok;
    });
  }
  const admin = localRabbitmqAdmin();
  if (!admin) throw new Error(`the admin password file ${passwordFile('rabbitmq')} vanished`);
  // A busy machine may keep a running node from answering at once: a few tries before giving up.
  let result = await probeRabbitmq(admin);
  for (let attempt = 1; !result.ok && attempt < 3; attempt++) result = await probeRabbitmq(admin);
  if (!result.ok) {
    throw new Error(
      `RabbitMQ runs but the admin cannot log in (${result.why}). Reset it with \`npm run databases -- down rabbitmq --purge\` then \`up rabbitmq\`.`,
    );
  }
  return admin;
}

export async function rabbitmqDown(purge: boolean): Promise<void> {
  if (externalRabbitmq()) return;
  await withLock(credentialsDir(), 'rabbitmq', () => stopLocalRabbitmq(purge));
}

async function stopLocalRabbitmq(purge: boolean): Promise<void> {
  const { pidFile, dir } = rabbitmqPaths();
  const pid = rabbitmqPid(pidFile, dir);
  // Gone when the process is: RabbitMQ removes its pid file as soon as it starts stopping.
  if (pid !== undefined) await stopProcess(pid, 'RabbitMQ', () => !existsSync(`/proc/${pid}`));
  // Our port mapper, which the node started: it stops only when no node is registered with it.
  spawnSync('epmd', ['-port', String(RABBITMQ_PORTS.epmd), '-kill'], { env: rabbitmqEnv(dir), stdio: 'ignore' });
  if (purge) {
    log(`removing ${dir} and ${passwordFile('rabbitmq')}`);
    rmSync(dir, { recursive: true, force: true });
    rmSync(passwordFile('rabbitmq'), { force: true });
  }
}

/** For tests: a real RabbitMQ, brought up once per process; fails (never skips) without one. */
export const rabbitmqServer = oncePerProcess('rabbitmq', rabbitmqUp, HOW_TO_GET_RABBITMQ);

export async function rabbitmqStatus(): Promise<ServerStatus> {
  const external = externalRabbitmq();
  if (external) {
    return externalStatus('rabbitmq', external.managementUrl, RABBITMQ_URL_VARIABLE, await probeRabbitmq(external));
  }
  if (!existsSync(PROGRAM)) {
    const lines = ['rabbitmq: not installed (apt-get install --no-install-recommends rabbitmq-server)'];
    return { engine: 'rabbitmq', running: false, lines };
  }
  const { pidFile, dir } = rabbitmqPaths();
  const running = rabbitmqPid(pidFile, dir) !== undefined;
  const first =
    `rabbitmq: RabbitMQ ${running ? 'running' : 'stopped'} on ${LOOPBACK}:${RABBITMQ_PORTS.amqp} (management API ` +
    `${RABBITMQ_PORTS.management}), in ${join(runDir(), 'rabbitmq')}`;
  return localStatus('rabbitmq', running, first, localRabbitmqAdmin(), probeRabbitmq);
}
