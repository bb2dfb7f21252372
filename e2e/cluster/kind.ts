// The kind backend, for people with a Docker engine. Not exercised in this repository's CI,
// which has no Docker engine.
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { type ClusterBackend, type ClusterStatus, planStopStart } from './backend.ts';
import { CLUSTER_NAME, clusterToolDir, kindKubeconfigPath } from './paths.ts';

function kind(args: string[], quiet = false) {
  return spawnSync('kind', args, { encoding: 'utf8', stdio: quiet ? 'pipe' : ['ignore', 'inherit', 'inherit'] });
}

function clusterExists(): boolean {
  const result = kind(['get', 'clusters'], true);
  return result.status === 0 && result.stdout.split('\n').includes(CLUSTER_NAME);
}

/** The Docker containers of the cluster's nodes (control plane and workers). */
function nodeContainers(): string[] {
  const result = kind(['get', 'nodes', '--name', CLUSTER_NAME], true);
  if (result.status !== 0) throw new Error(`kind get nodes failed: ${result.stderr}`);
  return result.stdout.split('\n').filter((line) => line.trim() !== '');
}

function docker(args: string[]) {
  return spawnSync('docker', args, { encoding: 'utf8', stdio: 'pipe' });
}

function apiServerAnswers(): boolean {
  return (
    spawnSync('kubectl', ['--kubeconfig', kindKubeconfigPath(), 'get', '--raw', '/readyz'], {
      stdio: 'ignore',
      timeout: 30_000,
    }).status === 0
  );
}

async function waitFor(what: string, timeoutMs: number, check: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

export const kindCluster: ClusterBackend = {
  name: 'kind',
  kubeconfigPath: kindKubeconfigPath,

  async up(): Promise<void> {
    mkdirSync(dirname(kindKubeconfigPath()), { recursive: true });
    if (clusterExists()) {
      const exported = kind(['export', 'kubeconfig', '--name', CLUSTER_NAME, '--kubeconfig', kindKubeconfigPath()]);
      if (exported.status !== 0) throw new Error('kind export kubeconfig failed; its output is above');
      console.error(`[cluster] kind cluster "${CLUSTER_NAME}" is already up; reusing it`);
      return;
    }
    const created = kind([
      'create',
      'cluster',
      '--name',
      CLUSTER_NAME,
      '--config',
      join(clusterToolDir, '..', 'kind-config.yaml'),
      '--kubeconfig',
      kindKubeconfigPath(),
      '--wait',
      '3m',
    ]);
    if (created.status !== 0) throw new Error('kind create cluster failed; its output is above');
  },

  async down(): Promise<void> {
    if (!clusterExists()) return;
    const deleted = kind(['delete', 'cluster', '--name', CLUSTER_NAME]);
    if (deleted.status !== 0) throw new Error('kind delete cluster failed; its output is above');
  },

  // Untested here (no Docker engine): `docker stop` of every node container keeps the cluster's
  // state; `docker start` may publish the API server on a new host port, so the kubeconfig is
  // exported again before waiting for /readyz and Ready nodes.
  async stop(): Promise<void> {
    const exists = clusterExists();
    if (planStopStart('stop', exists, exists && apiServerAnswers()) === 'nothing-to-do') return;
    const stopped = docker(['stop', ...nodeContainers()]);
    if (stopped.status !== 0) throw new Error(`docker stop failed: ${stopped.stderr}`);
  },

  async start(): Promise<void> {
    const exists = clusterExists();
    if (planStopStart('start', exists, exists && apiServerAnswers()) === 'act') {
      const started = docker(['start', ...nodeContainers()]);
      if (started.status !== 0) throw new Error(`docker start failed: ${started.stderr}`);
    }
    const exported = kind(['export', 'kubeconfig', '--name', CLUSTER_NAME, '--kubeconfig', kindKubeconfigPath()]);
    if (exported.status !== 0) throw new Error('kind export kubeconfig failed; its output is above');
    await waitFor('the API server to answer /readyz', 180_000, apiServerAnswers);
    const ready = spawnSync(
      'kubectl',
      ['--kubeconfig', kindKubeconfigPath(), 'wait', '--for=condition=Ready', 'nodes', '--all', '--timeout=180s'],
      { stdio: ['ignore', 'inherit', 'inherit'] },
    );
    if (ready.status !== 0) throw new Error('the nodes did not become Ready within 180s');
  },

  async status(): Promise<ClusterStatus> {
    const running = clusterExists();
    return {
      running,
      lines: [
        'backend: kind (Docker)',
        `cluster "${CLUSTER_NAME}": ${running ? 'running' : 'not created'}`,
        `kubeconfig: ${kindKubeconfigPath()}`,
      ],
    };
  },
};
