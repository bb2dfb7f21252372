import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { childMeta } from './meta.ts';
import { buildPodDisruptionBudget } from './pdb.ts';
import { microService, validChild, withAutoscaling, withReplicas, withSpec } from './testing.ts';

const selector = { matchLabels: { 'app.kubernetes.io/name': 'orders', 'app.kubernetes.io/instance': 'orders' } };

describe('buildPodDisruptionBudget', () => {
  const cases = [
    { name: 'one replica: none', ms: microService('orders'), want: undefined },
    { name: 'zero replicas: none', ms: microService('orders', withReplicas(0)), want: undefined },
    {
      name: 'two replicas: maxUnavailable 1',
      ms: microService('orders', withReplicas(2)),
      want: { maxUnavailable: 1 },
    },
    {
      name: 'autoscaled from 1: none, whatever replicas says',
      ms: microService('orders', withReplicas(5), withAutoscaling({ minReplicas: 1, maxReplicas: 5 })),
      want: undefined,
    },
    {
      name: 'autoscaled from 3: maxUnavailable 1',
      ms: microService('orders', withAutoscaling({ minReplicas: 3, maxReplicas: 5 })),
      want: { maxUnavailable: 1 },
    },
    {
      name: 'minAvailable as set, even for one replica',
      ms: microService('orders', withSpec({ disruptionBudget: { minAvailable: '50%' } })),
      want: { minAvailable: '50%' },
    },
    {
      name: 'maxUnavailable as set',
      ms: microService('orders', withReplicas(4), withSpec({ disruptionBudget: { maxUnavailable: 2 } })),
      want: { maxUnavailable: 2 },
    },
  ];
  for (const { name, ms, want } of cases) {
    it(name, () => {
      const pdb = buildPodDisruptionBudget(ms);
      if (want === undefined) {
        assert.equal(pdb, undefined);
        return;
      }
      assert.deepEqual(validChild(pdb), {
        apiVersion: 'policy/v1',
        kind: 'PodDisruptionBudget',
        metadata: childMeta(ms),
        spec: { selector, ...want, unhealthyPodEvictionPolicy: 'AlwaysAllow' },
      });
    });
  }
});
