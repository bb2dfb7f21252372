// Desired state: pure builders of the children of a MicroService. No I/O, no clock, no randomness.

export {
  buildDedicatedDatabase,
  buildDedicatedNetworkPolicy,
  buildDedicatedService,
  buildDedicatedStatefulSet,
  DEDICATED_IMAGES,
  DEDICATED_PORTS,
  type DedicatedDatabase,
  dedicatedDatabaseAddress,
  dedicatedDatabaseCondition,
  dedicatedDatabaseHost,
  dedicatedDatabaseName,
  dedicatedDatabaseOf,
  dedicatedDatabaseSelector,
} from './dedicated-database.ts';
export {
  buildContainerPorts,
  buildDeployment,
  buildEnv,
  buildPodTemplate,
  buildProbe,
  buildScrapeAnnotations,
  CONFIG_HASH_ANNOTATION,
  CREDENTIALS_HASH_ANNOTATION,
  computeRevision,
  containerPortOf,
  DATABASE_URL_ENV,
  DATABASE_URL_KEY,
  type DeploymentOptions,
  METRICS_PORT_NAME,
  type PodTemplateOptions,
  type ServicePortSpec,
} from './deployment.ts';
export { parseDuration, toGatewayDuration, toProtoDuration } from './duration.ts';
export { InvalidSpecError, InvalidSpecReason } from './errors.ts';
export { buildHorizontalPodAutoscaler, DEFAULT_CPU_UTILIZATION, type HpaOptions } from './hpa.ts';
export {
  type ChildMeta,
  childLabels,
  childMeta,
  clusterLocalHost,
  DEFAULT_CLUSTER_DOMAIN,
  databaseSecretName,
  identityOf,
  LABEL_INSTANCE,
  LABEL_MANAGED_BY,
  LABEL_NAME,
  MANAGED_BY,
  type OwnerReference,
  ownerReferenceTo,
  REVISION_LABEL,
  revisionName,
  selectorLabels,
} from './meta.ts';
export { buildMigrationJob, MIGRATION_LABEL, MIGRATION_TTL_SECONDS, migrationJobName } from './migration-job.ts';
export {
  buildNetworkPolicy,
  CLUSTER_DNS,
  ISTIOD,
  type MeshControlPlane,
  NAMESPACE_NAME_LABEL,
  type NetworkPolicy,
  type NetworkPolicyInputs,
} from './network-policy.ts';
export { buildTelemetry, buildTracingEnv, telemetryName } from './observability.ts';
export { buildPodDisruptionBudget, computeMinimumReplicas } from './pdb.ts';
export { parseGatewayRef, routedPort } from './ports.ts';
export {
  buildCacheEnv,
  buildCacheSecret,
  type CacheSecret,
  cacheSecretName,
  REDIS_KEY_PREFIX_ENV,
  REDIS_URL_ENV,
} from './redis-cache.ts';
export { buildService, type ServiceOptions } from './service.ts';
