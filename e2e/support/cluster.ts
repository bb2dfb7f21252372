// How tests reach the real Kubernetes API server. Every test that crosses the API starts with
// `await connectToCluster()`; when no cluster can be had it fails with instructions, never skips.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { KubeConfig, VersionApi } from '@kubernetes/client-node';
import { binariesDir, readVersions } from '../cluster/paths.ts';
import { findKubeconfigPath, HOW_TO_GET_ONE } from './kubeconfig-path.ts';

export { currentClusterFile, findKubeconfigPath } from './kubeconfig-path.ts';

const execFileAsync = promisify(execFile);

export interface TestCluster {
  kubeConfig: KubeConfig;
  kubeconfigPath: string;
  /** Runs the cluster's kubectl against this cluster; rejects with kubectl's stderr on failure. */
  kubectl(args: string[], options?: { input?: string }): Promise<string>;
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
