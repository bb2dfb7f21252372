// Finds the PostgreSQL and MariaDB server programs, installing them from Debian's packages when they are
// missing and we are root. The packages' own system services are kept from starting (policy-rc.d).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DatabaseEngineName } from '../../operator/src/database/identifiers.ts';

export interface PostgresPrograms {
  initdb: string;
  pgCtl: string;
  version: string;
}

export interface MariadbPrograms {
  server: string;
  installDb: string;
  client: string;
}

const PACKAGES: Record<DatabaseEngineName, string> = { postgres: 'postgresql', mysql: 'mariadb-server' };

function log(message: string): void {
  console.error(`[databases] ${message}`);
}

export function onPath(names: string[]): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin'];
  for (const name of names) {
    for (const dir of dirs) {
      if (dir && existsSync(join(dir, name))) return join(dir, name);
    }
  }
  return undefined;
}

export function findPostgres(): PostgresPrograms | undefined {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, 'bin', 'postgres')) && existsSync(join(root, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  const version = versions[0];
  if (version !== undefined) {
    const bin = join(root, version, 'bin');
    return { initdb: join(bin, 'initdb'), pgCtl: join(bin, 'pg_ctl'), version };
  }
  const initdb = onPath(['initdb']);
  const pgCtl = onPath(['pg_ctl']);
  return initdb && pgCtl ? { initdb, pgCtl, version: 'unknown' } : undefined;
}

export function findMariadb(): MariadbPrograms | undefined {
  const server = onPath(['mariadbd', 'mysqld']);
  const installDb = onPath(['mariadb-install-db', 'mysql_install_db']);
  const client = onPath(['mariadb', 'mysql']);
  return server && installDb && client ? { server, installDb, client } : undefined;
}

function howToInstall(engine: DatabaseEngineName): string {
  return (
    `install it as root with \`apt-get install ${PACKAGES[engine]}\` (Debian/Ubuntu), ` +
    `or point ${engine === 'postgres' ? 'FLOTILLA_POSTGRES_URL' : 'FLOTILLA_MYSQL_URL'} at an existing server's admin URL`
  );
}

function aptListsEmpty(): boolean {
  const lists = '/var/lib/apt/lists';
  return !existsSync(lists) || !readdirSync(lists).some((f) => f.includes('_Packages'));
}

function aptInstall(engine: DatabaseEngineName): void {
  aptInstallPackage(PACKAGES[engine], engine === 'postgres' ? 'PostgreSQL' : 'MariaDB', howToInstall(engine));
}

/** `apt-get install -y <name>` as root, with the package's service kept from starting; `how` says what else to do. */
export function aptInstallPackage(name: string, what: string, how: string): void {
  if (process.getuid?.() !== 0) {
    throw new Error(`The ${what} server is not installed and installing it needs root: ${how}.`);
  }
  if (!existsSync('/usr/bin/apt-get')) {
    throw new Error(`The ${what} server is not installed and this machine has no apt-get: ${how}.`);
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  // Test files run in parallel and may each install a server at once: wait for dpkg's lock, do not fail on it.
  const wait = ['-o', 'DPkg::Lock::Timeout=600'];
  if (aptListsEmpty()) {
    log('apt-get update (the package lists are empty)');
    const update = spawnSync('apt-get', [...wait, 'update'], { stdio: ['ignore', 2, 2], env });
    if (update.status !== 0) throw new Error(`apt-get update failed (exit ${update.status}): ${how}.`);
  }
  // Debian starts a package's service after installing it unless policy-rc.d says no; ours run privately.
  const policy = '/usr/sbin/policy-rc.d';
  const ownPolicy = !existsSync(policy);
  if (ownPolicy)
    writeFileSync(policy, '#!/bin/sh\n# flotilla: no service starts while installing\nexit 101\n', { mode: 0o755 });
  try {
    log(`apt-get install -y ${name}`);
    const install = spawnSync('apt-get', [...wait, 'install', '-y', name], { stdio: ['ignore', 2, 2], env });
    if (install.status !== 0) throw new Error(`apt-get install ${name} failed (exit ${install.status}): ${how}.`);
  } finally {
    if (ownPolicy) rmSync(policy, { force: true });
  }
}

export function ensurePostgres(): PostgresPrograms {
  const found = findPostgres();
  if (found) return found;
  aptInstall('postgres');
  const installed = findPostgres();
  if (!installed) throw new Error(`PostgreSQL's initdb and pg_ctl are still missing: ${howToInstall('postgres')}.`);
  return installed;
}

export function ensureMariadb(): MariadbPrograms {
  const found = findMariadb();
  if (found) return found;
  aptInstall('mysql');
  const installed = findMariadb();
  if (!installed) throw new Error(`MariaDB's mariadbd is still missing: ${howToInstall('mysql')}.`);
  return installed;
}
