// plan: the pure heart of the reconciler. From what gather observed, the children to apply (each
// with why: create, restore, update, repair), the children to delete, the status and the Events
// known before any write. No I/O, no clock (`now` is an input), no randomness.
import type { V1Service } from '@kubernetes/client-node';
import type { MicroService, MicroServiceStatus } from '../../api/microservice.ts';
import {
  buildDedicatedDatabase,
  buildHorizontalPodAutoscaler,
  buildNetworkPolicy,
  buildPodDisruptionBudget,
  buildPodTemplate,
  buildService,
  buildTelemetry,
  computeRevision,
  InvalidSpecError,
  identityOf,
  type PodTemplateOptions,
  selectorLabels,
} from '../../desired/index.ts';
import type { EventRecord } from '../../kube/events.ts';
import type { KubeObject, ResourceType } from '../../kube/objects.ts';
import type { Provisioned, ProvisionedField } from '../../provisioning/index.ts';
import {
  type Condition,
  type ConditionFact,
  ConditionType,
  computeConditions,
  EventReason,
  Reason,
} from '../../release/conditions.ts';
import { computeDrift, withDesiredHash } from '../../release/drift.ts';
import { MigrationEventReason, type MigrationPlan, MigrationReason, planMigration } from '../../release/migration.ts';
import { requestsIn } from '../../release/requests.ts';
import { requestedRouting } from '../../release/rollout.ts';
import {
  planPlainWorkload,
  type ReleaseOutcome,
  type ReleaseTraffic,
  type WorkloadPlanner,
} from '../../release/workloads.ts';
import {
  buildRoutes,
  chooseRouter,
  computeUrl,
  type GatewayApiOptions,
  type InstalledApis,
  type Router,
  routerFor,
} from '../../traffic/index.ts';
import type { ConfigPlanInput } from './config-digests.ts';
import { childTypeOf } from './resources.ts';

/** A provisioner's part of the plan: what it found, or `released` (its status field is cleared). */
export type ProvisionedInput = { field: ProvisionedField; released?: true } & Partial<
  Pick<Provisioned, 'condition' | 'status' | 'credentialsHash'>
>;

const PROVISIONED_FIELDS: readonly ProvisionedField[] = ['database', 'cache', 'messaging'];

/** `Kind/name`: how children are told apart within one MicroService. */
export const childId = (object: { kind?: string; metadata: { name?: string } }): string =>
  `${object.kind}/${object.metadata.name}`;

export interface PlanInput {
  ms: MicroService;
  /** Children owned by the service and labelled managed-by flotilla, as observed (every child kind). */
  children: readonly KubeObject[];
  /** Ids (`Kind/name`) of route objects that exist under a name we want but that we did not create. */
  foreignRoutes: readonly string[];
  /** Ids of owned children that someone else deleted since we last wrote them. */
  deletedByOthers: ReadonlySet<string>;
  /** The Rollout targeting the service, if any. */
  rollout: KubeObject | undefined;
  /** Names of the MicroServices of the namespace whose dependsOn names this one. */
  dependents: readonly string[];
  installed: InstalledApis;
  gatewayAPI?: GatewayApiOptions;
  /** The port of the service's DatabaseServer, when it has one. */
  databasePort?: number;
  /** The AMQP port of the service's rabbitmq DatabaseServer, when it has messaging. */
  brokerPort?: number;
  /**
   * What the provisioners found, in the registry's order: their conditions, their status fields (a field
   * no entry names keeps its value) and the credentials hashes that roll the pods.
   */
  provisioned?: readonly ProvisionedInput[];
  /** What the config step found (ConfigReady, the config hash), when the service references a ConfigMap or Secret. */
  config?: ConfigPlanInput;
  /** The operator's OTLP endpoint (--otlp-endpoint), for traced services. */
  otlpEndpoint?: string;
  /** Whether Istio's Telemetry kind is served: a traced service then gets one. */
  telemetryServed?: boolean;
  /** RFC 3339, for condition transitions (whole seconds, as the API keeps them). */
  now: string;
  /** The same instant in milliseconds, for the release timers (a pause, a scale-down); default `now`. */
  nowMs?: number;
  /** Default: one Deployment, plain rolling update. */
  workloads?: WorkloadPlanner;
}

/** create: new child; restore: deleted by someone else; update: the spec changed; repair: edited by hand. */
export type ApplyReason = 'create' | 'restore' | 'update' | 'repair';

export interface ChildApply {
  type: ResourceType;
  object: KubeObject;
  why: ApplyReason;
  /** The child as observed before this write, when it exists. */
  observed?: KubeObject;
}

export interface Plan {
  apply: ChildApply[];
  delete: KubeObject[];
  status: MicroServiceStatus;
  /** Events known before any write (invalid spec, a route we may not overwrite). */
  events: EventRecord[];
  /** The Rollout's side of a release: its status, its Events, the request to clear. */
  release?: ReleaseOutcome;
}

const MANAGED_CONDITIONS: readonly string[] = Object.values(ConditionType);

export function plan(input: PlanInput): Plan {
  try {
    return planValid(input);
  } catch (error) {
    if (error instanceof InvalidSpecError) return planInvalid(input, error);
    throw error;
  }
}

function planValid(input: PlanInput): Plan {
  const { ms, children } = input;
  const migration = migrationOf(input);
  const workloads = (input.workloads ?? planPlainWorkload)({
    ms,
    deployments: children.filter((c) => c.kind === 'Deployment'),
    rollout: input.rollout,
    installed: input.installed,
    now: input.nowMs ?? Date.parse(input.now),
    ...templateOptionsOf(input),
    ...(migration.hold ? { hold: migration.hold } : {}),
  });
  const traffic = workloads.traffic ?? { kind: 'allPods' };
  const router = routerFor(chooseRouter(input.installed, requestedRouting(input.rollout)));
  const routes = buildRoutes(ms, router.name, {
    ...(input.gatewayAPI ? { gatewayAPI: input.gatewayAPI } : {}),
    ...(traffic.kind === 'split' ? { split: traffic.split } : {}),
  });
  const networkPolicy = buildNetworkPolicy(ms, {
    dependents: input.dependents,
    ...(input.databasePort !== undefined ? { databasePort: input.databasePort } : {}),
    ...(input.brokerPort !== undefined ? { brokerPort: input.brokerPort } : {}),
    ...(router.meshControlPlane ? { meshControlPlane: router.meshControlPlane } : {}),
  });
  const wanted: KubeObject[] = [
    ...workloads.deployments,
    ...buildServices(ms, traffic, router),
    buildHorizontalPodAutoscaler(ms, { deploymentName: workloads.hpaTarget }),
    buildPodDisruptionBudget(ms),
    networkPolicy,
    ...buildDedicatedDatabase(ms),
    migration.job,
    ...routes.objects,
    input.telemetryServed ? buildTelemetry(ms) : undefined,
  ]
    .filter((object) => object !== undefined)
    .map((object) => withDesiredHash(object as KubeObject));

  const foreign = new Set(input.foreignRoutes);
  const events: EventRecord[] = [];
  if (input.config?.condition.status === 'False') {
    events.push({ type: 'Warning', reason: EventReason.ConfigNotFound, message: input.config.condition.message });
  }
  let routesCondition: ConditionFact = { type: ConditionType.RoutesReady, ...routes.condition };
  const blocked = wanted.filter((object) => foreign.has(childId(object))).map(childId);
  if (blocked.length > 0) {
    const message = `${blocked.join(', ')} already exists and was not created by Flotilla (no app.kubernetes.io/managed-by: flotilla label); it is left alone`;
    routesCondition = { type: ConditionType.RoutesReady, status: 'False', reason: Reason.RouteNotOwned, message };
    events.push({ type: 'Warning', reason: EventReason.RouteNotOwned, message });
  }

  const observed = new Map(children.map((child) => [childId(child), child]));
  const apply: ChildApply[] = [];
  for (const object of wanted) {
    const id = childId(object);
    if (foreign.has(id)) continue;
    const type = childTypeOf(object.kind);
    if (!type) throw new Error(`no resource type for ${id}`);
    const drift = computeDrift(object, observed.get(id));
    if (drift === 'none') continue;
    const why: ApplyReason =
      drift === 'missing'
        ? input.deletedByOthers.has(id)
          ? 'restore'
          : 'create'
        : drift === 'editedByHand'
          ? 'repair'
          : 'update';
    const before = observed.get(id);
    apply.push({ type, object, why, ...(before ? { observed: before } : {}) });
  }
  const wantedIds = new Set([
    ...wanted.map(childId),
    ...(workloads.keep ?? []).map((name) => `Deployment/${name}`),
    ...migration.keep.map((name) => `Job/${name}`),
  ]);
  const remove = children.filter((child) => !wantedIds.has(childId(child)));

  const [ready, progressing, degraded] = workloads.conditions;
  const status = buildStatus(input, [ready, progressing, degraded, routesCondition], {
    replicas: workloads.replicas,
    readyReplicas: workloads.readyReplicas,
    currentRevision: workloads.currentRevision ?? input.ms.status?.currentRevision,
    url: computeUrl(ms),
  });
  if (migration.migrated && status.database) status.database.migratedRevision = migration.migrated;
  events.push(...migrationEvents(input, migration, apply));
  return { apply, delete: remove, status, events, ...(workloads.release ? { release: workloads.release } : {}) };
}

/**
 * The service's Service, selecting every pod or, in blue-green, the active revision; beside it the
 * preview Service (blue-green) or, for the Gateway API's weighted backends, one per revision.
 */
function buildServices(ms: MicroService, traffic: ReleaseTraffic, router: Router): (V1Service | undefined)[] {
  const { name } = identityOf(ms);
  if (traffic.kind === 'blueGreen') {
    return [
      buildService(ms, { revision: traffic.active }),
      buildService(ms, { name: previewServiceName(name), revision: traffic.preview }),
    ];
  }
  if (traffic.kind === 'split') return [buildService(ms), ...router.buildSplitServices(ms, traffic.split)];
  return [buildService(ms)];
}

/** The blue-green Service that selects the revision waiting for promotion. */
export const previewServiceName = (name: string): string => `${name}-preview`;

/** An invalid spec: nothing is written or deleted, the running children keep running, the status says why. */
function planInvalid(input: PlanInput, error: InvalidSpecError): Plan {
  const { ms } = input;
  const message = `the spec cannot be applied: ${error.message}; the children already running are left unchanged`;
  const previousRoutes = (ms.status?.conditions as Condition[] | undefined)?.find(
    (c) => c.type === ConditionType.RoutesReady,
  );
  const routes: ConditionFact = previousRoutes
    ? { ...pickFact(previousRoutes) }
    : { type: ConditionType.RoutesReady, status: 'Unknown', reason: Reason.InvalidSpec, message };
  const deployment = input.children.find((c) => c.kind === 'Deployment' && c.metadata.name === identityOf(ms).name);
  const observedStatus = (deployment?.status ?? {}) as { replicas?: number; readyReplicas?: number };
  const status = buildStatus(
    input,
    [
      { type: ConditionType.Ready, status: 'False', reason: Reason.InvalidSpec, message },
      { type: ConditionType.Progressing, status: 'False', reason: Reason.InvalidSpec, message },
      { type: ConditionType.Degraded, status: 'True', reason: error.reason, message },
      routes,
    ],
    {
      replicas: observedStatus.replicas ?? 0,
      readyReplicas: observedStatus.readyReplicas ?? 0,
      currentRevision: ms.status?.currentRevision,
      url: ms.status?.url,
    },
  );
  return {
    apply: [],
    delete: [],
    status,
    events: [{ type: 'Warning', reason: EventReason.InvalidSpec, message: `${error.reason}: ${message}` }],
  };
}

const pickFact = (c: Condition): ConditionFact => ({
  type: c.type,
  status: c.status,
  reason: c.reason,
  message: c.message,
});

interface StatusFields {
  replicas: number;
  readyReplicas: number;
  currentRevision: string | undefined;
  url: string | undefined;
}

/**
 * The whole status: our four conditions (transition times kept), any other condition and the
 * provisioned status fields as they were unless a provisioner reported them, replicas, the selector for the
 * scale subresource, and observedGeneration.
 */
function buildStatus(input: PlanInput, facts: ConditionFact[], fields: StatusFields): MicroServiceStatus {
  const { ms, now } = input;
  const previous = (ms.status?.conditions ?? []) as Condition[];
  const generation = ms.metadata.generation;
  const provisioned = input.provisioned ?? [];
  const all = [
    ...facts,
    ...provisioned.flatMap((p) => (p.condition ? [p.condition] : [])),
    ...(input.config ? [input.config.condition] : []),
  ];
  const conditions = [
    ...computeConditions(previous, all, now, generation),
    ...previous.filter((c) => !MANAGED_CONDITIONS.includes(c.type) && !all.some((f) => f.type === c.type)),
  ];
  const { name } = identityOf(ms);
  const selector = Object.entries(selectorLabels(name))
    .map(([key, value]) => `${key}=${value}`)
    .join(',');
  const status: MicroServiceStatus = {
    conditions,
    replicas: fields.replicas,
    readyReplicas: fields.readyReplicas,
    selector,
  };
  if (fields.currentRevision !== undefined) status.currentRevision = fields.currentRevision;
  if (fields.url !== undefined) status.url = fields.url;
  for (const field of PROVISIONED_FIELDS) {
    const entry = provisioned.find((p) => p.field === field);
    const value = entry?.released ? undefined : (entry?.status ?? ms.status?.[field]);
    if (value !== undefined) Object.assign(status, { [field]: { ...value } });
  }
  // Recorded by the migration gate, not by the provisioner: kept across the provisioner's reports.
  const migrated = ms.status?.database?.migratedRevision;
  if (migrated !== undefined && status.database && status.database.migratedRevision === undefined) {
    status.database.migratedRevision = migrated;
  }
  if (generation !== undefined) status.observedGeneration = generation;
  return status;
}

/**
 * The hash of every credential the pods read (database, cache, ...): a change rolls them. Each
 * provisioner's first 16 characters, in the registry's order, so a service keeps its revision when a
 * provisioner it does not use is added.
 */
function credentialsHashOf(input: PlanInput): { credentialsHash?: string } {
  const hashes = (input.provisioned ?? []).flatMap((p) => (p.credentialsHash ? [p.credentialsHash.slice(0, 16)] : []));
  return hashes.length > 0 ? { credentialsHash: hashes.join('-') } : {};
}

/** What the pod template is built from besides the spec: the credentials and config hashes, the OTLP endpoint. */
function templateOptionsOf(input: PlanInput): PodTemplateOptions {
  return {
    ...credentialsHashOf(input),
    ...(input.config?.hash ? { configHash: input.config.hash } : {}),
    ...(input.otlpEndpoint ? { otlpEndpoint: input.otlpEndpoint } : {}),
  };
}

/** The migration gate of the revision the spec asks for (spec.database.migration). */
function migrationOf(input: PlanInput): MigrationPlan {
  const { ms } = input;
  if (!ms.spec.database?.migration) return { keep: [] };
  const template = buildPodTemplate(ms, templateOptionsOf(input));
  const reported = (input.provisioned ?? []).find((p) => p.field === 'database')?.condition;
  const shown = (ms.status?.conditions ?? []).find((c) => c.type === 'DatabaseReady');
  const retry = requestsIn(
    (input.rollout?.status as { acceptedRequest?: Parameters<typeof requestsIn>[0] })?.acceptedRequest,
  );
  return planMigration({
    ms,
    revision: computeRevision(template),
    template,
    children: input.children,
    databaseReady: (reported ?? shown)?.status === 'True',
    retryRequested: retry.retry === true,
  });
}

/** What the migration gate says in Events: started, succeeded, failed (once), retried. */
function migrationEvents(input: PlanInput, migration: MigrationPlan, apply: readonly ChildApply[]): EventRecord[] {
  const events: EventRecord[] = [];
  const hold = migration.hold;
  const jobName = migration.job?.metadata?.name;
  if (jobName && apply.some((a) => a.object.kind === 'Job' && a.object.metadata.name === jobName)) {
    events.push({ type: 'Normal', reason: MigrationEventReason.MigrationStarted, message: hold?.message ?? '' });
  }
  if (migration.migrated) {
    events.push({
      type: 'Normal',
      reason: MigrationEventReason.MigrationSucceeded,
      message: `the schema migration for revision ${migration.migrated} succeeded; the release goes on`,
    });
  }
  if (hold?.retried)
    events.push({ type: 'Normal', reason: MigrationEventReason.MigrationRetried, message: hold.message });
  if (hold?.reason === MigrationReason.MigrationFailed) {
    const shown = (input.ms.status?.conditions ?? []).find((c) => c.type === ConditionType.Degraded);
    if (shown?.reason !== MigrationReason.MigrationFailed || shown.message !== hold.message) {
      events.push({ type: 'Warning', reason: MigrationEventReason.MigrationFailed, message: hold.message });
    }
  }
  return events;
}

/** The status after some children could not be written: Degraded True, ApplyFailed, naming them. */
export function withApplyFailures(
  status: MicroServiceStatus,
  failures: readonly string[],
  now: string,
): MicroServiceStatus {
  if (failures.length === 0) return status;
  const previous = (status.conditions ?? []) as Condition[];
  const message = `could not write ${failures.join('; ')}`;
  const conditions = previous.map((condition) => {
    if (condition.type !== ConditionType.Degraded) return condition;
    const [degraded] = computeConditions(
      [condition],
      [{ type: ConditionType.Degraded, status: 'True', reason: Reason.ApplyFailed, message }],
      now,
      condition.observedGeneration,
    );
    return degraded as Condition;
  });
  return { ...status, conditions };
}
