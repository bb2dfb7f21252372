// The resource types the MicroService controller reads and writes, beyond the ones kube/ defines.
import { deploymentType, type ResourceType, serviceType } from '../../kube/objects.ts';
import { ROUTE_TYPES } from '../../traffic/index.ts';

export { databaseServerType, microServiceType, rolloutType } from '../../api/resource-types.ts';
export { crdName } from '../../kube/objects.ts';

const namespaced = (group: string, version: string, kind: string, plural: string): ResourceType => ({
  group,
  version,
  kind,
  plural,
  namespaced: true,
});

export const horizontalPodAutoscalerType = namespaced(
  'autoscaling',
  'v2',
  'HorizontalPodAutoscaler',
  'horizontalpodautoscalers',
);
/** A dedicated database's server (spec.database.instance: dedicated). */
export const statefulSetType = namespaced('apps', 'v1', 'StatefulSet', 'statefulsets');
export const networkPolicyType = namespaced('networking.k8s.io', 'v1', 'NetworkPolicy', 'networkpolicies');
/** A revision's schema migration (spec.database.migration). */
export const jobType = namespaced('batch', 'v1', 'Job', 'jobs');
export const podDisruptionBudgetType = namespaced('policy', 'v1', 'PodDisruptionBudget', 'poddisruptionbudgets');

/** Children of built-in kinds: always served, watched through caches. */
export const WORKLOAD_CHILD_TYPES: readonly ResourceType[] = [
  deploymentType,
  serviceType,
  horizontalPodAutoscalerType,
  networkPolicyType,
  statefulSetType,
  jobType,
  podDisruptionBudgetType,
];

/** Route children: the kinds of every router in the traffic registry, watched once served. */
export const ROUTE_CHILD_TYPES: readonly ResourceType[] = ROUTE_TYPES;

/** Istio's Telemetry (the sampling of a traced service), written only while its CRD is served; watched like routes. */
export const telemetryType = namespaced('telemetry.istio.io', 'v1', 'Telemetry', 'telemetries');

/** Every kind a MicroService may have as a child, by kind name. */
export function childTypeOf(kind: string | undefined): ResourceType | undefined {
  return [...WORKLOAD_CHILD_TYPES, ...ROUTE_CHILD_TYPES, telemetryType].find((type) => type.kind === kind);
}
