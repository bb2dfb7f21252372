// The workloads of a MicroService released by a Rollout: the observed Deployments become the
// revisions a strategy plans from (strategy/), and its plan becomes per-revision Deployments, the
// traffic split the routes and Services carry, the MicroService's conditions and the Rollout's
// new status. Without a Rollout, the plain rolling update of workloads.ts.
import type { V1Deployment } from '@kubernetes/client-node';
import { observeRuns, refreshRuns, summarizeRuns, type WantedRun } from '../analysis/release-runs.ts';
import type { MicroService } from '../api/microservice.ts';
import type { RolloutSpec, RolloutStatus, TrafficRouting } from '../api/rollout.ts';
import {
  buildDeployment,
  buildPodTemplate,
  childMeta,
  computeRevision,
  identityOf,
  REVISION_LABEL,
  revisionName,
} from '../desired/index.ts';
import type { KubeObject } from '../kube/objects.ts';
import { type ObservedRevision, planRollout, type RolloutPlan, requestsOf } from '../strategy/index.ts';
import { isoTime } from '../strategy/release.ts';
import { type InstalledApis, resolveTrafficRouting } from '../traffic/index.ts';
import { type ConditionFact, ConditionType } from './conditions.ts';
import { MigrationReason } from './migration.ts';
import { requestsIn } from './requests.ts';
import {
  heldConditions,
  planPlainWorkload,
  type ReleaseTraffic,
  templateOptions,
  type WorkloadInput,
  type WorkloadPlan,
  type WorkloadPlanner,
} from './workloads.ts';

/** Reasons of the MicroService conditions while a Rollout drives its release. */
export const ReleaseReason = {
  /** The Rollout is Healthy: the stable revision serves all traffic with every pod Ready. */
  Released: 'Released',
  /** A release is moving or waiting (a step, a pause, a preview); the message is the Rollout's. */
  ReleaseInProgress: 'ReleaseInProgress',
  /** The release was aborted (by request or by the health gate); the stable revision serves all traffic. */
  ReleaseAborted: 'ReleaseAborted',
  AsExpected: 'AsExpected',
  Idle: 'Idle',
} as const;

/** The trafficRouting a Rollout asks for (canary only), for the one choice of router. */
export function requestedRouting(rollout: KubeObject | undefined): TrafficRouting | undefined {
  return (rollout?.spec as RolloutSpec | undefined)?.strategy?.canary?.trafficRouting;
}

/** The revision a Deployment runs, from its label; undefined for one that predates revision labels. */
export const revisionOf = (deployment: KubeObject): string | undefined => deployment.metadata.labels?.[REVISION_LABEL];

/** The Deployment of each revision; when two run the same revision, the first one seen wins. */
export function indexRevisions(deployments: readonly KubeObject[]): Map<string, V1Deployment> {
  const byRevision = new Map<string, V1Deployment>();
  for (const deployment of deployments) {
    const revision = revisionOf(deployment);
    if (revision && !byRevision.has(revision)) byRevision.set(revision, deployment as V1Deployment);
  }
  return byRevision;
}

export function observeRevision(revision: string, deployment: V1Deployment): ObservedRevision {
  return {
    revision,
    replicas: deployment.spec?.replicas ?? 0,
    readyReplicas: deployment.status?.readyReplicas ?? 0,
  };
}

/** Pods the stable revision should have: spec.replicas, or while autoscaling what the HPA set on it. */
export function stableReplicas(ms: MicroService, stable: V1Deployment | undefined): number {
  const autoscaling = ms.spec.autoscaling;
  if (!autoscaling) return ms.spec.replicas ?? 1;
  return stable?.spec?.replicas ?? autoscaling.minReplicas ?? 1;
}

/** The traffic of a plan, as the routes and Services carry it. */
export function releaseTraffic(plan: RolloutPlan): ReleaseTraffic {
  const { traffic } = plan;
  if (traffic.kind === 'blueGreen') {
    return { kind: 'blueGreen', active: traffic.active, preview: traffic.preview ?? traffic.active };
  }
  if (traffic.kind === 'weighted' && !traffic.approximatedByReplicas) {
    const stable = plan.status.stableRevision;
    const split = traffic.weights.map((w) => ({
      role: w.revision === stable ? ('stable' as const) : ('canary' as const),
      revision: w.revision,
      weight: w.weight,
    }));
    return { kind: 'split', split: split.sort((a, b) => (a.role === b.role ? 0 : a.role === 'stable' ? -1 : 1)) };
  }
  return { kind: 'allPods' };
}

/** Ready, Progressing and Degraded of the MicroService from the Rollout's phase and message. */
export function releaseConditions(status: RolloutStatus): [ConditionFact, ConditionFact, ConditionFact] {
  const message = status.message ?? `rollout ${status.phase ?? 'starting'}`;
  const phase = status.phase ?? 'Progressing';
  const healthy = phase === 'Healthy';
  const failed = phase === 'Aborted' || phase === 'Degraded';
  const noFailure: ConditionFact = {
    type: ConditionType.Degraded,
    status: 'False',
    reason: ReleaseReason.AsExpected,
    message: 'no failures',
  };
  if (healthy) {
    return [
      { type: ConditionType.Ready, status: 'True', reason: ReleaseReason.Released, message },
      { type: ConditionType.Progressing, status: 'False', reason: ReleaseReason.Idle, message },
      noFailure,
    ];
  }
  if (failed) {
    return [
      { type: ConditionType.Ready, status: 'False', reason: ReleaseReason.ReleaseAborted, message },
      { type: ConditionType.Progressing, status: 'False', reason: ReleaseReason.ReleaseAborted, message },
      { type: ConditionType.Degraded, status: 'True', reason: ReleaseReason.ReleaseAborted, message },
    ];
  }
  return [
    { type: ConditionType.Ready, status: 'False', reason: ReleaseReason.ReleaseInProgress, message },
    { type: ConditionType.Progressing, status: 'True', reason: ReleaseReason.ReleaseInProgress, message },
    noFailure,
  ];
}

/**
 * A Deployment of a revision other than the MicroService's current one: its pod template is known
 * only from the cluster, so it is applied back as observed with the planned replicas.
 */
function rebuildFromObserved(observed: V1Deployment, replicas: number | 'autoscaled', ms: MicroService): V1Deployment {
  const metadata = childMeta(ms, observed.metadata?.name);
  metadata.labels[REVISION_LABEL] = revisionOf(observed as KubeObject) ?? '';
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata,
    spec: {
      ...(replicas === 'autoscaled' ? {} : { replicas }),
      selector: observed.spec?.selector ?? { matchLabels: {} },
      template: observed.spec?.template ?? {},
    },
  };
}

/** Most steps one reconcile may take (a step done, the next begun) before it writes. */
export const MAX_STEPS_PER_RECONCILE = 8;

/**
 * The plan, and while it asks to look again at once (a step done), the plans that follow from its
 * status over the same observed revisions, so that one reconcile carries a release as far as it
 * can go and writes once. The one-shot request is acted on by the first plan only.
 */
export function planUntilSettled(input: Parameters<typeof planRollout>[0]): RolloutPlan {
  let plan = planRollout(input);
  const events = [...plan.events];
  const handled = plan.requestHandled;
  const { promote: _promote, abort: _abort, retry: _retry, ...standing } = input.spec;
  for (let step = 1; step < MAX_STEPS_PER_RECONCILE && plan.requeueAfterMs === 0; step++) {
    plan = planRollout({ ...input, spec: standing, status: plan.status });
    events.push(...plan.events);
  }
  return { ...plan, events, ...(handled ? { requestHandled: handled } : {}) };
}

export interface ReleasePlannerSources {
  /** The AnalysisRuns of the Rollout `name` in `namespace`. */
  analysisRuns?: (namespace: string, rollout: string) => KubeObject[];
}

/** The planner of a service's workloads: plain without a Rollout, released by its strategy with one. */
export function createReleasePlanner(sources: ReleasePlannerSources = {}): WorkloadPlanner {
  return (input) => planRelease(input, sources);
}

export const planReleaseWorkload: WorkloadPlanner = createReleasePlanner();

function planRelease(input: WorkloadInput, sources: ReleasePlannerSources): WorkloadPlan {
  const { ms, rollout } = input;
  if (!rollout) return planPlainWorkload(input);
  const { name } = identityOf(ms);
  const spec = rollout.spec as RolloutSpec;
  const previous = (rollout.status ?? {}) as RolloutStatus;
  const generation = rollout.metadata.generation;
  const byRevision = indexRevisions(input.deployments);
  const template = templateOptions(input);
  const { hold } = input;
  // Held (its migration runs or failed), the spec's revision is not released yet: the release goes on
  // with what it was releasing, every Deployment as observed.
  const desiredRevision = hold
    ? (previous.canaryRevision ?? previous.stableRevision)
    : computeRevision(buildPodTemplate(ms, template));
  if (hold && !desiredRevision) return planHeldFirstRelease(input, rollout, hold);
  const stable = previous.stableRevision ? byRevision.get(previous.stableRevision) : undefined;
  const replicas = stableReplicas(ms, stable);
  const accepted = previous.acceptedRequest;
  const { retry: retryRequested, ...others } = requestsIn(accepted);
  // A retry of a failed migration is carried out by the migration gate, not by the strategy.
  const requests = hold?.retried ? others : { ...others, ...(retryRequested ? { retry: retryRequested } : {}) };
  const routing = resolveTrafficRouting(spec.strategy.canary?.trafficRouting, input.installed ?? noRouters);

  const { promote: _promote, abort: _abort, retry: _retry, ...standing } = spec;
  const runs = sources.analysisRuns?.(rollout.metadata.namespace ?? '', rollout.metadata.name ?? '') ?? [];
  const plan = planUntilSettled({
    analysisRuns: observeRuns(runs),
    spec: { ...standing, ...requests },
    trafficRouting: routing,
    status: previous,
    desiredRevision: desiredRevision as string,
    revisions: [...byRevision].map(([revision, deployment]) => observeRevision(revision, deployment)),
    replicas,
    now: input.now ?? Date.now(),
    ...(generation !== undefined ? { generation } : {}),
  });

  const deployments: V1Deployment[] = [];
  const keep: string[] = [];
  const nameOf = (revision: string) => byRevision.get(revision)?.metadata?.name ?? revisionName(name, revision);
  for (const planned of plan.revisions) {
    const wanted: number | 'autoscaled' =
      ms.spec.autoscaling && planned.revision === plan.scaleTarget ? 'autoscaled' : planned.replicas;
    const observed = byRevision.get(planned.revision);
    if (planned.revision === desiredRevision && !hold) {
      // The plain Deployment of a service adopted by its Rollout keeps its name (and its pods).
      const plain = observed?.metadata?.name === name;
      deployments.push(
        buildDeployment(ms, { ...template, replicas: wanted, ...(plain ? {} : { revision: planned.revision }) }),
      );
    } else if (observed) {
      const unchanged =
        wanted === 'autoscaled' ? observed.spec?.replicas !== undefined : observed.spec?.replicas === wanted;
      if (unchanged) keep.push(nameOf(planned.revision));
      else deployments.push(rebuildFromObserved(observed, wanted, ms));
    }
  }
  // Deployments from before revision labels are left alone rather than deleted under a release.
  for (const deployment of input.deployments) {
    if (!revisionOf(deployment) && deployment.metadata.name) keep.push(deployment.metadata.name);
  }

  const status: RolloutStatus = { ...plan.status };
  if (generation !== undefined) status.observedGeneration = generation;
  const wanted = plan.analysis ?? [];
  // After an abort the runs that decided it stay in view, for kubectl describe.
  const aborted = status.phase === 'Degraded' || status.phase === 'Aborted';
  if (wanted.length > 0) status.analysisRuns = summarizeRuns(rollout, wanted, runs);
  else if (aborted && previous.analysisRuns) status.analysisRuns = refreshRuns(previous.analysisRuns, runs);
  else delete status.analysisRuns;
  const analysis: WantedRun[] = wanted.map((analysis) => ({
    ...analysis,
    context: {
      service: name,
      namespace: ms.metadata.namespace ?? '',
      revision: { canary: analysis.revision, stable: status.stableRevision ?? '' },
      workload: { canary: nameOf(analysis.revision), stable: nameOf(status.stableRevision ?? '') },
    },
  }));
  if (spec.strategy.canary && routing === 'replicas' && status.canaryRevision && status.message) {
    const asked = spec.strategy.canary.trafficRouting ?? 'auto';
    const why = asked === 'replicas' || asked === 'auto' ? 'no mesh' : `${asked} is not installed`;
    if (!status.message.includes('by pod count')) {
      status.message += ` (${why}: the traffic split is approximated by pod counts)`;
    }
  }
  if (hold) showHold(status, hold, input.now ?? Date.now());
  const handled = hold?.retried ? 'retry' : (plan.requestHandled ?? 'none');
  const { [handled]: _done, ...remaining } = { ...requests, ...(hold?.retried ? { retry: true } : {}) } as Record<
    string,
    unknown
  >;
  if (Object.keys(remaining).length > 0) {
    status.acceptedRequest = {
      ...remaining,
      ...(accepted?.generation !== undefined ? { generation: accepted.generation } : {}),
    };
  } else delete status.acceptedRequest;
  const live = [...byRevision.values()];
  // More to do at once: an accepted request not yet carried out, or a new one waiting in the spec.
  const more = Object.keys(remaining).length > 0 || Object.keys(requestsOf(spec)).length > 0;
  const requeueAfterMs = more ? 0 : plan.requeueAfterMs;
  return {
    deployments,
    ...(keep.length > 0 ? { keep } : {}),
    hpaTarget: nameOf(plan.scaleTarget),
    conditions: hold ? heldConditions(hold, healthOf(releaseConditions(plan.status)[0])) : releaseConditions(status),
    replicas: live.reduce((sum, d) => sum + (d.status?.replicas ?? 0), 0),
    readyReplicas: live.reduce((sum, d) => sum + (d.status?.readyReplicas ?? 0), 0),
    currentRevision: status.stableRevision,
    traffic: releaseTraffic(plan),
    release: {
      rollout,
      status,
      events: plan.events,
      ...(requeueAfterMs !== undefined ? { requeueAfterMs } : {}),
      ...(analysis.length > 0 || runs.length > 0 ? { analysis: { wanted: analysis, runs } } : {}),
    },
  };
}

const noRouters: InstalledApis = { istio: false, gatewayAPI: false };

/** The Rollout's phase and message while held; a carried-out retry is its last action. */
function showHold(status: RolloutStatus, hold: NonNullable<WorkloadInput['hold']>, now: number): void {
  status.phase = hold.reason === MigrationReason.MigrationFailed ? 'Degraded' : 'Progressing';
  status.message = hold.message;
  if (hold.retried) status.lastAction = { action: 'Retry', time: isoTime(now), message: hold.message };
}

/** The running revision's health, from the Ready condition the release would show without the hold. */
const healthOf = (ready: ConditionFact) =>
  ({
    state: ready.status === 'True' ? 'available' : 'progressing',
    reason: ready.reason,
    message: ready.message,
  }) as const;

/** Held before anything ever ran: no Deployment yet, and the Rollout says what it waits for. */
function planHeldFirstRelease(
  input: WorkloadInput,
  rollout: KubeObject,
  hold: NonNullable<WorkloadInput['hold']>,
): WorkloadPlan {
  const { name } = identityOf(input.ms);
  const previous = (rollout.status ?? {}) as RolloutStatus;
  const status: RolloutStatus = { ...previous };
  showHold(status, hold, input.now ?? Date.now());
  if (hold.retried && status.acceptedRequest) {
    const { retry: _retry, ...rest } = status.acceptedRequest as Record<string, unknown>;
    if (Object.keys(rest).some((key) => key !== 'generation')) status.acceptedRequest = rest;
    else delete status.acceptedRequest;
  }
  if (rollout.metadata.generation !== undefined) status.observedGeneration = rollout.metadata.generation;
  const waiting = { state: 'progressing', reason: 'Creating', message: `Deployment ${name} waits` } as const;
  return {
    deployments: [],
    hpaTarget: name,
    conditions: heldConditions(hold, waiting),
    replicas: 0,
    readyReplicas: 0,
    currentRevision: undefined,
    release: { rollout, status, events: [] },
  };
}
