// Makes Node.js 24 the `node` of every npm script when the Node that runs npm is older.
// Runs as postinstall under whatever Node runs npm, so it is plain JavaScript for Node >= 18.
// Node 24 comes from the npm registry's `node` package, installed once into the user's cache
// folder and linked as node_modules/.bin/node, which npm puts first on every script's PATH.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const NODE_VERSION = '24.21.0';
const REQUIRED_MAJOR = 24;

const projectRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const linkPath = join(projectRoot, 'node_modules', '.bin', 'node');

if (Number(process.versions.node.split('.')[0]) >= REQUIRED_MAJOR) {
  process.exit(0);
}

const cacheRoot = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
const prefix = join(cacheRoot, 'flotilla', `node-v${NODE_VERSION}`);
const binary = join(prefix, 'node_modules', 'node', 'bin', 'node');

if (!existsSync(binary)) {
  console.log(
    `flotilla: Node ${process.versions.node} is older than ${REQUIRED_MAJOR}; installing node@${NODE_VERSION} from the npm registry into ${prefix}`,
  );
  mkdirSync(prefix, { recursive: true });
  execFileSync(
    'npm',
    [
      'install',
      '--prefix',
      prefix,
      '--no-save',
      '--no-package-lock',
      '--no-audit',
      '--no-fund',
      `node@${NODE_VERSION}`,
    ],
    { stdio: 'inherit' },
  );
  if (!existsSync(binary)) {
    console.error(
      `flotilla: installing node@${NODE_VERSION} did not produce ${binary}; install Node.js ${REQUIRED_MAJOR} yourself`,
    );
    process.exit(1);
  }
}
const version = execFileSync(binary, ['--version'], { encoding: 'utf8' }).trim();
mkdirSync(dirname(linkPath), { recursive: true });
rmSync(linkPath, { force: true });
symlinkSync(binary, linkPath);
console.log(`flotilla: npm scripts run on Node ${version} (${linkPath})`);
