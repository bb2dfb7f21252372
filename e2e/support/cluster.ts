// How tests reach the real Kubernetes API server. Every test that crosses the API starts with
// `await connectToCluster()`; when no cluster can be had it fails with instructions, never skips.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { KubeConfig, VersionApi } from '@kubernetes/client-node';
import {
  binariesDir,
  flotillaCacheRoot,
  kindKubeconfigPath,
  localKubeconfigPath,
  readVersions,
} from '../cluster/paths.ts';

const execFileAsync = promisify(execFile);

export interface TestCluster {
  kubeConfig: KubeConfig;
  kubeconfigPath: string;
  /** Runs the cluster's kubectl against this cluster; rejects with kubectl's stderr on failure. */
  kubectl(args: string[], options?: { input?: string }): Promise<string>;
}

/** The file `npm run cluster -- up` writes: the path of the kubeconfig of the cluster it brought up. */
export function currentClusterFile(env: NodeJS.ProcessEnv = process.env): string {
  return join(flotillaCacheRoot(env), 'current-kubeconfig');
}

const HOW_TO_GET_ONE =
  'Bring one up with `npm run cluster -- up` (a local control plane built from the Kubernetes Go modules; ' +
  'the first build takes 15-40 minutes, later starts take seconds), or point FLOTILLA_KUBECONFIG at a ' +
  'kubeconfig of a cluster you own. `npm test` does the first for you.';

export function findKubeconfigPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.FLOTILLA_KUBECONFIG) return env.FLOTILLA_KUBECONFIG;
  // A second local cluster (`FLOTILLA_CLUSTER_NAME=x npm run cluster -- up`) is not the pointer's.
  if (env.FLOTILLA_CLUSTER_NAME) {
    return env.FLOTILLA_CLUSTER_BACKEND === 'kind' ? kindKubeconfigPath(env) : localKubeconfigPath(env);
  }
  const pointer = currentClusterFile(env);
  if (existsSync(pointer)) return readFileSync(pointer, 'utf8').trim();
  const reason = env.FLOTILLA_CLUSTER_ERROR ? `\nWhy the cluster is not up: ${env.FLOTILLA_CLUSTER_ERROR}` : '';
  throw new Error(`No Kubernetes cluster for this test. ${HOW_TO_GET_ONE}${reason}`);
}

function kubectlBinary(): string {
  const built = join(binariesDir(readVersions()), 'kubectl');
  return existsSync(built) ? built : 'kubectl';
}

let connected: Promise<TestCluster> | undefined;

export function connectToCluster(): Promise<TestCluster> {
  connected ??= connect();
  return connected;
}

async function connect(): Promise<TestCluster> {
  const kubeconfigPath = findKubeconfigPath();
  if (!existsSync(kubeconfigPath)) {
    throw new Error(`No Kubernetes cluster for this test: ${kubeconfigPath} does not exist. ${HOW_TO_GET_ONE}`);
  }
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(kubeconfigPath);
  try {
    await kubeConfig.makeApiClient(VersionApi).getCode();
  } catch (error) {
    const server = kubeConfig.getCurrentCluster()?.server ?? '(no server in kubeconfig)';
    throw new Error(`The Kubernetes API server at ${server} does not answer (${String(error)}). ${HOW_TO_GET_ONE}`);
  }
  const binary = kubectlBinary();
  const kubectl = async (args: string[], options: { input?: string } = {}): Promise<string> => {
    const child = execFileAsync(binary, ['--kubeconfig', kubeconfigPath, ...args], { maxBuffer: 64 * 1024 * 1024 });
    if (options.input !== undefined) {
      child.child.stdin?.end(options.input);
    }
    const { stdout } = await child;
    return stdout;
  };
  return { kubeConfig, kubeconfigPath, kubectl };
}
