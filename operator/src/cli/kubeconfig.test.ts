import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { describe, it } from 'node:test';
import { dump } from 'js-yaml';
import { loadKubeConfig } from './kubeconfig.ts';

describe('loadKubeConfig', () => {
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-cli-kubeconfig-'));
  const contexts = join(dir, 'contexts');
  const clusters = join(dir, 'clusters');
  writeFileSync(
    contexts,
    dump({
      'current-context': 'dev',
      contexts: [{ name: 'dev', context: { cluster: 'dev-cluster', user: 'dev-user' } }],
    }),
  );
  writeFileSync(
    clusters,
    dump({
      clusters: [{ name: 'dev-cluster', cluster: { server: 'https://10.1.2.3:6443' } }],
      users: [{ name: 'dev-user', user: { token: 't' } }],
    }),
  );

  it('merges every file of $KUBECONFIG, as kubectl does (a context in one, its cluster in another)', () => {
    const loaded = loadKubeConfig(undefined, {
      KUBECONFIG: [contexts, join(dir, 'missing'), clusters].join(delimiter),
    });
    assert.equal(loaded.kubeConfig.getCurrentCluster().server, 'https://10.1.2.3:6443');
    assert.equal(loaded.source, [contexts, clusters].join(delimiter));
    assert.equal(loaded.inCluster, false);
  });

  it('--kubeconfig names one file, read alone', () => {
    assert.throws(() => loadKubeConfig(contexts, { KUBECONFIG: clusters }), /dev-cluster, which has no server/);
  });
});
