// `npm test`: brings up the local cluster with its real node (reused when it is already up), then
// runs every test file — unit and integration — in one `node --test` run. When the cluster cannot
// be had, the integration tests still run and fail, each saying why and how to get one; when only
// the real node cannot (no root, a package missing), the cluster comes up without it and the
// real-node tests fail saying why.
// Then the kind smoke (scripts/kind-smoke.ts): a kind cluster of its own, the chart and a canary on
// it, then down. Its node image is built (once; cached) in the background, at the lowest priority,
// while the suite runs. FLOTILLA_KIND_SMOKE=off leaves it out, saying so.
// `npm test -- <files>` runs only those files. With FLOTILLA_CLUSTER_BACKEND=kind the suite runs on
// a kind cluster, the kind tests (e2e/kind/) with it; they run only there.
import { spawnSync } from 'node:child_process';
import { globSync } from 'node:fs';
import { buildKindImageInBackground, runKindSmoke } from './kind-smoke.ts';

const onKind = process.env.FLOTILLA_CLUSTER_BACKEND === 'kind';
const testFiles = globSync(['operator/**/*.test.ts', 'scripts/**/*.test.ts', 'e2e/**/*.test.ts'])
  .filter((file) => onKind || !file.startsWith('e2e/kind/'))
  .sort();
const env = { ...process.env };
const extraArgs = process.argv.slice(2);
const kindSmoke = extraArgs.length === 0 && !onKind && env.FLOTILLA_KIND_SMOKE !== 'off';
const seconds = (since: number): string => `${((Date.now() - since) / 1000).toFixed(1)}s`;
const started = Date.now();

if (!env.FLOTILLA_KUBECONFIG) {
  let up = spawnSync(process.execPath, ['e2e/cluster/cli.ts', 'up', '--real-node'], { stdio: 'inherit', env });
  if (up.status !== 0 && !onKind) {
    env.FLOTILLA_REAL_NODE_ERROR = `\`npm run cluster -- up --real-node\` failed (exit ${up.status ?? up.signal}); its output is above.`;
    console.error(`flotilla: no real node; the real-node tests will fail. ${env.FLOTILLA_REAL_NODE_ERROR}`);
    up = spawnSync(process.execPath, ['e2e/cluster/cli.ts', 'up'], { stdio: 'inherit', env });
  }
  if (up.status !== 0) {
    env.FLOTILLA_CLUSTER_ERROR = `\`npm run cluster -- up\` failed (exit ${up.status ?? up.signal}); its output is above.`;
    console.error(`flotilla: the cluster is not up; integration tests will fail. ${env.FLOTILLA_CLUSTER_ERROR}`);
  }
}

// On kind, the tests' pods are put on the echo image built here (kwok simulates them elsewhere).
let kindPrepared = true;
if (onKind) {
  kindPrepared = spawnSync(process.execPath, ['e2e/kind/simulated-pods.ts'], { stdio: 'inherit', env }).status === 0;
  if (!kindPrepared)
    console.error('[test] FAILED: the simulated pods policy is not in place; tests that start pods fail');
}

const background = kindSmoke ? buildKindImageInBackground(env) : undefined;
let phase = Date.now();
const run = spawnSync(process.execPath, ['--test', ...extraArgs, ...(extraArgs.length ? [] : testFiles)], {
  stdio: 'inherit',
  env,
});
let status = run.status ?? 1;
if (!kindPrepared) status ||= 1;
if (extraArgs.length === 0) console.error(`[test] the suite: ${seconds(phase)} (exit ${status})`);

if (background) {
  phase = Date.now();
  const built = await background.done;
  console.error(
    `[test] kind and its node image ${built.ok ? 'ready' : 'FAILED to build'}: ${built.seconds.toFixed(1)}s in the ` +
      `background, ${seconds(phase)} waited after the suite (log: ${built.logFile})`,
  );
  if (runKindSmoke(env) !== 0) status ||= 1;
} else if (extraArgs.length === 0 && !onKind) {
  console.error('[test] the kind smoke was NOT run: FLOTILLA_KIND_SMOKE=off');
}
if (extraArgs.length === 0) console.error(`[test] npm test: ${seconds(started)} (exit ${status})`);
process.exit(status);
