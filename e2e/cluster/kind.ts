// The kind backend, for people with a Docker engine. Not exercised in this repository's CI,
// which has no Docker engine.
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ClusterBackend, ClusterStatus } from './backend.ts';
import { CLUSTER_NAME, clusterToolDir, kindKubeconfigPath } from './paths.ts';

function kind(args: string[], quiet = false) {
  return spawnSync('kind', args, { encoding: 'utf8', stdio: quiet ? 'pipe' : ['ignore', 'inherit', 'inherit'] });
}

function clusterExists(): boolean {
  const result = kind(['get', 'clusters'], true);
  return result.status === 0 && result.stdout.split('\n').includes(CLUSTER_NAME);
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
