// The PodDisruptionBudget (policy/v1) of a MicroService: the one in spec.disruptionBudget, or
// maxUnavailable 1 for a service that runs more than one pod; none for a single pod, which a
// budget would only keep from ever being drained.
import type { V1PodDisruptionBudget } from '@kubernetes/client-node';
import type { MicroService } from '../api/microservice.ts';
import { childMeta, identityOf, selectorLabels } from './meta.ts';

/** The fewest pods the service runs: autoscaling's minReplicas while it is set, else replicas (default 1). */
export const computeMinimumReplicas = (ms: MicroService): number =>
  ms.spec.autoscaling ? (ms.spec.autoscaling.minReplicas ?? 1) : (ms.spec.replicas ?? 1);

/** The budget, or undefined when the service wants none. It selects every revision's pods. */
export function buildPodDisruptionBudget(ms: MicroService): V1PodDisruptionBudget | undefined {
  const budget = ms.spec.disruptionBudget;
  if (!budget && computeMinimumReplicas(ms) <= 1) return undefined;
  const { name } = identityOf(ms);
  const limit =
    budget?.minAvailable !== undefined
      ? { minAvailable: budget.minAvailable }
      : { maxUnavailable: budget?.maxUnavailable ?? 1 };
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: childMeta(ms),
    spec: {
      selector: { matchLabels: selectorLabels(name) },
      ...limit,
      // A pod that is not Ready protects nothing: a failed release must not block a node drain.
      unhealthyPodEvictionPolicy: 'AlwaysAllow',
    },
  };
}
