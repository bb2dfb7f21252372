// `npm run plugin -- build [--out FILE]` makes kubectl-flotilla a single executable that needs no
// Node.js: the plugin bundled into one CommonJS file by esbuild, turned into a blob by Node 24's
// single executable applications (`node --experimental-sea-config`) and injected with postject into
// a copy of the Node binary that runs this script. `npm run plugin -- install [DIR]` builds it and
// puts it in DIR (default ~/.local/bin), where kubectl finds it as `kubectl flotilla`, with the
// `kubectl_complete-flotilla` script through which kubectl's shell completion completes it.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const ENTRY = join(ROOT, 'operator', 'src', 'plugin', 'main.ts');
export const DEFAULT_OUT = join(ROOT, 'dist', 'plugin', 'kubectl-flotilla');
/** The fuse Node's binary carries for single executable applications. */
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

/** Bundles the plugin into one CommonJS file (`<out>.cjs`), every dependency inside. */
export async function bundle(out: string): Promise<string> {
  const { build } = await import('esbuild');
  const file = `${out}.cjs`;
  await build({
    entryPoints: [ENTRY],
    outfile: file,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node24',
    logLevel: 'warning',
    // Optional native speed-ups of dependencies that are not installed; their pure-JS paths are used.
    external: ['bufferutil', 'utf-8-validate'],
  });
  return file;
}

/** Builds the single executable at `out` from this Node binary; returns its path. */
export async function buildExecutable(out = DEFAULT_OUT): Promise<string> {
  mkdirSync(dirname(out), { recursive: true });
  const script = await bundle(out);
  const blob = `${out}.blob`;
  const config = `${out}.sea-config.json`;
  writeFileSync(
    config,
    JSON.stringify({ main: script, output: blob, disableExperimentalSEAWarning: true, useCodeCache: false }),
  );
  execFileSync(process.execPath, ['--experimental-sea-config', config], { stdio: 'pipe' });
  copyFileSync(process.execPath, out);
  chmodSync(out, 0o755);
  const { inject } = await import('postject');
  // postject's ELF library warns about every unnamed note section of Node's binary: harmless noise.
  const warn = console.warn;
  console.warn = () => {};
  try {
    await inject(out, 'NODE_SEA_BLOB', readFileSync(blob), { sentinelFuse: SEA_FUSE });
  } finally {
    console.warn = warn;
  }
  return out;
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command === 'build') {
    const at = rest.indexOf('--out');
    const out = at >= 0 && rest[at + 1] ? resolve(rest[at + 1] as string) : DEFAULT_OUT;
    console.log(`built ${await buildExecutable(out)}`);
    return;
  }
  if (command === 'install') {
    const dir = resolve(rest[0] ?? join(homedir(), '.local', 'bin'));
    const built = await buildExecutable();
    mkdirSync(dir, { recursive: true });
    const target = join(dir, 'kubectl-flotilla');
    copyFileSync(built, target);
    chmodSync(target, 0o755);
    // kubectl (1.26+) completes `kubectl flotilla ...` through this executable (kubernetes#105867).
    const completer = join(dir, 'kubectl_complete-flotilla');
    writeFileSync(completer, `#!/bin/sh\nexec '${target}' __complete "$@"\n`, { mode: 0o755 });
    console.log(`installed ${target} and ${completer}`);
    const onPath = (process.env.PATH ?? '').split(delimiter).some((entry) => resolve(entry) === dir);
    console.log(
      onPath
        ? 'kubectl finds it: try `kubectl flotilla version` (and `kubectl plugin list`)'
        : `${dir} is not on PATH: add it (export PATH="${dir}:$PATH") so that kubectl finds the plugin`,
    );
    return;
  }
  console.error('usage: npm run plugin -- build [--out FILE] | install [DIR]');
  process.exitCode = 2;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main(process.argv.slice(2));
}
