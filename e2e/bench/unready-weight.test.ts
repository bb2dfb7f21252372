import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../../operator/src/kube/objects.ts';
import { UnreadyWeightProbe } from './unready-weight.ts';

const at = (rv: number, kind: string, name: string, rest: object): KubeObject =>
  ({ kind, metadata: { name, resourceVersion: String(rv) }, ...rest }) as KubeObject;
const route = (rv: number, canary: number) =>
  at(rv, 'VirtualService', 'orders', {
    spec: {
      http: [
        {
          route: [
            { destination: { subset: 'stable' }, weight: 100 - canary },
            { destination: { subset: 'canary' }, weight: canary },
          ],
        },
      ],
    },
  });
const rollout = (rv: number) => at(rv, 'Rollout', 'orders', { status: { canaryRevision: 'b' } });
const deployment = (rv: number, ready: number) =>
  at(rv, 'Deployment', 'orders-b', { status: { readyReplicas: ready } });

describe('UnreadyWeightProbe', () => {
  const cases: { name: string; objects: KubeObject[]; worst: number }[] = [
    {
      name: 'a weight on a canary whose pod was Ready before the route: 0',
      objects: [rollout(1), deployment(2, 1), route(3, 20)],
      worst: 0,
    },
    {
      name: 'a weight on a canary with no Ready pod: that weight',
      objects: [rollout(1), deployment(2, 0), route(3, 20)],
      worst: 20,
    },
    {
      name: 'the pod Ready only after the route was written: still counted',
      objects: [rollout(1), deployment(2, 0), route(3, 20), deployment(4, 1)],
      worst: 20,
    },
    { name: 'weight 0 on an unready canary: 0', objects: [rollout(1), deployment(2, 0), route(3, 0)], worst: 0 },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const probe = new UnreadyWeightProbe();
      for (const object of c.objects) probe.record(object);
      assert.deepEqual(probe.result(), { routeVersions: 1, worstWeight: c.worst });
    });
  }
});
