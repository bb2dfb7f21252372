// The HorizontalPodAutoscaler (autoscaling/v2) of a MicroService with spec.autoscaling.
import type { V2HorizontalPodAutoscaler, V2MetricSpec } from '@kubernetes/client-node';
import type { MicroService } from '../api/microservice.ts';
import { childMeta, identityOf } from './meta.ts';

/** The CPU target when the spec names none, as the API documents. */
export const DEFAULT_CPU_UTILIZATION = 80;

const utilization = (resource: 'cpu' | 'memory', averageUtilization: number): V2MetricSpec => ({
  type: 'Resource',
  resource: { name: resource, target: { type: 'Utilization', averageUtilization } },
});

export interface HpaOptions {
  /** The Deployment to scale, e.g. `<name>-<revision>` of the revision serving traffic; default the service's name. */
  deploymentName?: string;
}

/** The HPA, or undefined when the service is not autoscaled. */
export function buildHorizontalPodAutoscaler(
  ms: MicroService,
  options: HpaOptions = {},
): V2HorizontalPodAutoscaler | undefined {
  const autoscaling = ms.spec.autoscaling;
  if (!autoscaling) return undefined;
  const { name } = identityOf(ms);
  const metrics = [utilization('cpu', autoscaling.targetCPUUtilizationPercentage ?? DEFAULT_CPU_UTILIZATION)];
  if (autoscaling.targetMemoryUtilizationPercentage !== undefined) {
    metrics.push(utilization('memory', autoscaling.targetMemoryUtilizationPercentage));
  }
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: childMeta(ms),
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: options.deploymentName ?? name },
      minReplicas: autoscaling.minReplicas ?? 1,
      maxReplicas: autoscaling.maxReplicas,
      metrics,
    },
  };
}
