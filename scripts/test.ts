// `npm test`: brings up the local cluster with its real node (reused when it is already up), then
// runs every test file — unit and integration — in one `node --test` run. When the cluster cannot
// be had, the integration tests still run and fail, each saying why and how to get one; when only
// the real node cannot (no root, a package missing), the cluster comes up without it and the
// real-node tests fail saying why.
// The kind tests (e2e/kind/) need a kind cluster: they run only with FLOTILLA_CLUSTER_BACKEND=kind.
import { spawnSync } from 'node:child_process';
import { globSync } from 'node:fs';

const onKind = process.env.FLOTILLA_CLUSTER_BACKEND === 'kind';
const testFiles = globSync(['operator/**/*.test.ts', 'scripts/**/*.test.ts', 'e2e/**/*.test.ts'])
  .filter((file) => onKind || !file.startsWith('e2e/kind/'))
  .sort();
const env = { ...process.env };

if (!env.FLOTILLA_KUBECONFIG) {
  let up = spawnSync(process.execPath, ['e2e/cluster/cli.ts', 'up', '--real-node'], { stdio: 'inherit', env });
  if (up.status !== 0) {
    env.FLOTILLA_REAL_NODE_ERROR = `\`npm run cluster -- up --real-node\` failed (exit ${up.status ?? up.signal}); its output is above.`;
    console.error(`flotilla: no real node; the real-node tests will fail. ${env.FLOTILLA_REAL_NODE_ERROR}`);
    up = spawnSync(process.execPath, ['e2e/cluster/cli.ts', 'up'], { stdio: 'inherit', env });
  }
  if (up.status !== 0) {
    env.FLOTILLA_CLUSTER_ERROR = `\`npm run cluster -- up\` failed (exit ${up.status ?? up.signal}); its output is above.`;
    console.error(`flotilla: the cluster is not up; integration tests will fail. ${env.FLOTILLA_CLUSTER_ERROR}`);
  }
}

const extraArgs = process.argv.slice(2);
const run = spawnSync(process.execPath, ['--test', ...extraArgs, ...(extraArgs.length ? [] : testFiles)], {
  stdio: 'inherit',
  env,
});
process.exit(run.status ?? 1);
