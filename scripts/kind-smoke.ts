// The kind smoke `npm test` runs after the suite (and CI with it): a kind cluster of its own
// (`flotilla-kind`, or FLOTILLA_KIND_SMOKE_NAME) brought up from e2e/kind-config.yaml, the smoke
// (e2e/kind/kind-smoke.test.ts: the chart with the built image, the shop Ready, a canary promoted,
// one aborted), then the cluster taken down; each phase prints its time. Run alone:
// `node scripts/kind-smoke.ts`. It never skips: whatever fails, it says what and exits non-zero.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { flotillaCacheRoot } from '../e2e/cluster/paths.ts';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
export const KIND_SMOKE_FILES = ['e2e/kind/kind-smoke.test.ts'];

function log(message: string): void {
  console.error(`[kind smoke] ${message}`);
}

const seconds = (since: number): string => `${((Date.now() - since) / 1000).toFixed(1)}s`;

/** The environment of the kind smoke's own cluster: the kind backend, its name, no kubeconfig of another. */
export function kindSmokeEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const { FLOTILLA_KUBECONFIG: _another, KUBECONFIG: _yours, ...rest } = env;
  return {
    ...rest,
    FLOTILLA_CLUSTER_BACKEND: 'kind',
    FLOTILLA_CLUSTER_NAME: env.FLOTILLA_KIND_SMOKE_NAME || 'flotilla-kind',
  };
}

/**
 * Builds kind and its node image (kind-image/build.sh; a no-op when cached) in the background at
 * the lowest CPU priority, so that on a fresh machine the ~15 minutes of Go builds overlap the suite,
 * which leaves most of the CPU idle while it waits on the cluster. Returns a promise of its outcome.
 */
export function buildKindImageInBackground(env: NodeJS.ProcessEnv = process.env): {
  child: ChildProcess;
  done: Promise<{ ok: boolean; seconds: number; logFile: string }>;
} {
  const logFile = join(flotillaCacheRoot(env), 'kind', 'node-image-build.log');
  mkdirSync(join(flotillaCacheRoot(env), 'kind'), { recursive: true });
  // The build writes to the file itself: the caller's event loop is blocked in spawnSync while the
  // suite runs, so a pipe through this process would fill and stall the build.
  const out = openSync(logFile, 'w');
  const started = Date.now();
  const child = spawn('nice', ['-n', '19', 'bash', join(repoRoot, 'e2e/cluster/kind-image/build.sh')], {
    cwd: repoRoot,
    stdio: ['ignore', out, out],
    env: { ...env, FLOTILLA_PODMAN_DIR: join(flotillaCacheRoot(env), 'podman-kind') },
  });
  closeSync(out);
  // Its exit is seen once the event loop runs again (after the suite); the time is read from the
  // log's last write, which is when the build ended.
  const done = new Promise<{ ok: boolean; seconds: number; logFile: string }>((resolve) => {
    const finish = (ok: boolean) => resolve({ ok, seconds: (statSync(logFile).mtimeMs - started) / 1000, logFile });
    child.once('close', (code) => finish(code === 0));
    child.once('error', () => finish(false));
  });
  return { child, done };
}

function run(args: string[], env: NodeJS.ProcessEnv): number {
  const result = spawnSync(process.execPath, args, { cwd: repoRoot, stdio: 'inherit', env });
  return result.status ?? 1;
}

/** Up, the smoke, down; returns the exit code (0 only when the smoke passed and the cluster went). */
export function runKindSmoke(env: NodeJS.ProcessEnv = process.env): number {
  const smokeEnv = kindSmokeEnv(env);
  const name = smokeEnv.FLOTILLA_CLUSTER_NAME;
  const started = Date.now();
  log(`kind cluster "${name}" (FLOTILLA_CLUSTER_BACKEND=kind), the smoke on it, then down`);
  let phase = Date.now();
  const up = run(['e2e/cluster/cli.ts', 'up'], smokeEnv);
  log(`up: ${seconds(phase)}`);
  let status = 0;
  if (up !== 0) {
    log(
      `FAILED: \`FLOTILLA_CLUSTER_BACKEND=kind FLOTILLA_CLUSTER_NAME=${name} npm run cluster -- up\` exited ${up}; ` +
        'its output is above (kind on Podman needs root, Podman, Go and gcc: see the README, "kind: a tested recipe")',
    );
    status = 1;
  } else {
    phase = Date.now();
    const smoke = run(['--test', ...KIND_SMOKE_FILES], smokeEnv);
    log(`smoke (${KIND_SMOKE_FILES.join(' ')}): ${seconds(phase)}`);
    if (smoke !== 0) {
      log(`FAILED: the kind smoke failed (exit ${smoke}); its output is above`);
      status = 1;
    }
  }
  phase = Date.now();
  const down = run(['e2e/cluster/cli.ts', 'down'], smokeEnv);
  log(`down: ${seconds(phase)}`);
  if (down !== 0) {
    log(`FAILED: taking the kind cluster "${name}" down exited ${down}; its output is above`);
    status = 1;
  }
  log(`${status === 0 ? 'passed' : 'FAILED'} in ${seconds(started)}`);
  return status;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.exit(runKindSmoke());
}
