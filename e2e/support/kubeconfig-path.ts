// Where the test cluster's kubeconfig is, without loading any Kubernetes client library (the
// benchmarks' child processes measure their own memory).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { flotillaCacheRoot } from '../cluster/paths.ts';

/** The file `npm run cluster -- up` writes: the path of the kubeconfig of the cluster it brought up. */
export function currentClusterFile(env: NodeJS.ProcessEnv = process.env): string {
  return join(flotillaCacheRoot(env), 'current-kubeconfig');
}

export const HOW_TO_GET_ONE =
  'Bring one up with `npm run cluster -- up` (a local control plane built from the Kubernetes Go modules; ' +
  'the first build takes 15-40 minutes, later starts take seconds), or point FLOTILLA_KUBECONFIG at a ' +
  'kubeconfig of a cluster you own. `npm test` does the first for you.';

export function findKubeconfigPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.FLOTILLA_KUBECONFIG) return env.FLOTILLA_KUBECONFIG;
  const pointer = currentClusterFile(env);
  if (existsSync(pointer)) return readFileSync(pointer, 'utf8').trim();
  const reason = env.FLOTILLA_CLUSTER_ERROR ? `\nWhy the cluster is not up: ${env.FLOTILLA_CLUSTER_ERROR}` : '';
  throw new Error(`No Kubernetes cluster for this test. ${HOW_TO_GET_ONE}${reason}`);
}
