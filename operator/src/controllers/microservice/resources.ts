// The resource types the MicroService controller reads and writes, beyond the ones kube/ defines.
import { GROUP, VERSION } from '../../api/common.ts';
import { MICROSERVICE_KIND, MICROSERVICE_PLURAL } from '../../api/microservice.ts';
import { ROLLOUT_KIND, ROLLOUT_PLURAL } from '../../api/rollout.ts';
import { deploymentType, type ResourceType, serviceType } from '../../kube/objects.ts';
import { ROUTE_TYPES } from '../../traffic/index.ts';

export { crdName } from '../../kube/objects.ts';

const namespaced = (group: string, version: string, kind: string, plural: string): ResourceType => ({
  group,
  version,
  kind,
  plural,
  namespaced: true,
});

export const microServiceType = namespaced(GROUP, VERSION, MICROSERVICE_KIND, MICROSERVICE_PLURAL);
export const rolloutType = namespaced(GROUP, VERSION, ROLLOUT_KIND, ROLLOUT_PLURAL);
export const databaseServerType: ResourceType = {
  group: GROUP,
  version: VERSION,
  kind: 'DatabaseServer',
  plural: 'databaseservers',
  namespaced: false,
};
export const horizontalPodAutoscalerType = namespaced(
  'autoscaling',
  'v2',
  'HorizontalPodAutoscaler',
  'horizontalpodautoscalers',
);
/** A dedicated database's server (spec.database.instance: dedicated). */
export const statefulSetType = namespaced('apps', 'v1', 'StatefulSet', 'statefulsets');
export const networkPolicyType = namespaced('networking.k8s.io', 'v1', 'NetworkPolicy', 'networkpolicies');
export const podDisruptionBudgetType = namespaced('policy', 'v1', 'PodDisruptionBudget', 'poddisruptionbudgets');

/** Children of built-in kinds: always served, watched through caches. */
export const WORKLOAD_CHILD_TYPES: readonly ResourceType[] = [
  deploymentType,
  serviceType,
  horizontalPodAutoscalerType,
  networkPolicyType,
  statefulSetType,
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
