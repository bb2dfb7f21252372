import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V2HorizontalPodAutoscalerSpec } from '@kubernetes/client-node';
import { buildHorizontalPodAutoscaler } from './hpa.ts';
import { childMeta } from './meta.ts';
import { microService, validChild, withAutoscaling } from './testing.ts';

const cpu = (averageUtilization: number) => ({
  type: 'Resource',
  resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization } },
});
const memory = (averageUtilization: number) => ({
  type: 'Resource',
  resource: { name: 'memory', target: { type: 'Utilization', averageUtilization } },
});

describe('buildHorizontalPodAutoscaler', () => {
  it('is undefined without autoscaling', () => {
    assert.equal(buildHorizontalPodAutoscaler(microService('orders')), undefined);
  });

  it('scales the Deployment of the same name, autoscaling/v2', () => {
    const hpa = buildHorizontalPodAutoscaler(
      microService('orders', withAutoscaling({ minReplicas: 2, maxReplicas: 10 })),
    );
    assert.equal(hpa?.apiVersion, 'autoscaling/v2');
    assert.equal(hpa?.kind, 'HorizontalPodAutoscaler');
    assert.deepEqual(hpa?.metadata, childMeta(microService('orders')));
    assert.deepEqual(hpa?.spec?.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: 'orders' });
  });

  const cases: {
    name: string;
    autoscaling: Parameters<typeof withAutoscaling>[0];
    spec: Omit<V2HorizontalPodAutoscalerSpec, 'scaleTargetRef'>;
  }[] = [
    {
      name: 'no targets: CPU at 80%',
      autoscaling: { minReplicas: 2, maxReplicas: 10 },
      spec: { minReplicas: 2, maxReplicas: 10, metrics: [cpu(80)] },
    },
    {
      name: 'a CPU target',
      autoscaling: { minReplicas: 1, maxReplicas: 4, targetCPUUtilizationPercentage: 70 },
      spec: { minReplicas: 1, maxReplicas: 4, metrics: [cpu(70)] },
    },
    {
      name: 'CPU and memory targets',
      autoscaling: {
        minReplicas: 3,
        maxReplicas: 3,
        targetCPUUtilizationPercentage: 50,
        targetMemoryUtilizationPercentage: 75,
      },
      spec: { minReplicas: 3, maxReplicas: 3, metrics: [cpu(50), memory(75)] },
    },
    {
      name: 'a memory target only: CPU keeps its default beside it',
      autoscaling: { maxReplicas: 5, targetMemoryUtilizationPercentage: 60 },
      spec: { minReplicas: 1, maxReplicas: 5, metrics: [cpu(80), memory(60)] },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const hpa = validChild(buildHorizontalPodAutoscaler(microService('orders', withAutoscaling(c.autoscaling))));
      const { scaleTargetRef: _, ...spec } = hpa.spec ?? { scaleTargetRef: undefined };
      assert.deepEqual(spec, c.spec);
    });
  }

  it('minReplicas defaults to 1 when the object was not defaulted by the API server', () => {
    const ms = microService('orders', withAutoscaling({ maxReplicas: 5 }), (m) => {
      delete (m.spec.autoscaling as { minReplicas?: number }).minReplicas;
    });
    assert.equal(buildHorizontalPodAutoscaler(ms)?.spec?.minReplicas, 1);
  });

  it('scales the Deployment it is told to, e.g. the revision serving traffic', () => {
    const hpa = buildHorizontalPodAutoscaler(microService('orders', withAutoscaling({ maxReplicas: 5 })), {
      deploymentName: 'orders-abc1234567',
    });
    assert.equal(hpa?.spec?.scaleTargetRef.name, 'orders-abc1234567');
  });
});
