import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KIND_SMOKE_FILES, kindSmokeEnv } from './kind-smoke.ts';

test('the kind smoke runs on a kind cluster of its own, never on the kubeconfig of another cluster', () => {
  const env = kindSmokeEnv({
    FLOTILLA_KUBECONFIG: '/mine.yaml',
    KUBECONFIG: '/yours.yaml',
    FLOTILLA_CLUSTER_NAME: 'kwok20',
    FLOTILLA_CLUSTER_BACKEND: 'local',
    PATH: '/bin',
  });
  assert.equal(env.FLOTILLA_CLUSTER_BACKEND, 'kind');
  assert.equal(env.FLOTILLA_CLUSTER_NAME, 'flotilla-kind');
  assert.equal(env.FLOTILLA_KUBECONFIG, undefined);
  assert.equal(env.KUBECONFIG, undefined);
  assert.equal(env.PATH, '/bin');
  assert.equal(kindSmokeEnv({ FLOTILLA_KIND_SMOKE_NAME: 'kind20' }).FLOTILLA_CLUSTER_NAME, 'kind20');
});

test('the kind smoke is the chart-and-canary file of e2e/kind/', () => {
  assert.deepEqual(KIND_SMOKE_FILES, ['e2e/kind/kind-smoke.test.ts']);
});
