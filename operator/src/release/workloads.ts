// The workloads of a MicroService and what they say about its health. This is the seam for the
// release strategies: without a Rollout, one Deployment named after the service, released by the
// Deployment's own rolling update (planPlainWorkload). A Rollout's strategy plugs in here as
// another WorkloadPlanner.
import type { V1Deployment } from '@kubernetes/client-node';
import type { WantedRun } from '../analysis/release-runs.ts';
import type { MicroService } from '../api/microservice.ts';
import type { RolloutStatus } from '../api/rollout.ts';
import {
  buildDeployment,
  buildPodTemplate,
  computeRevision,
  identityOf,
  type PodTemplateOptions,
} from '../desired/index.ts';
import type { KubeObject } from '../kube/objects.ts';
import type { PlannedEvent } from '../strategy/index.ts';
import type { InstalledApis, TrafficSplit } from '../traffic/index.ts';
import { type ConditionFact, ConditionType, Reason } from './conditions.ts';
import { isContainedIn } from './drift.ts';
import { MigrationReason, type ReleaseHold } from './migration.ts';

export interface WorkloadInput {
  ms: MicroService;
  /** The Deployments the service owns, as observed. */
  deployments: readonly KubeObject[];
  /** The Rollout targeting the service, if any (not acted on by the plain planner). */
  rollout: KubeObject | undefined;
  /** Which routers are installed (a Rollout's trafficRouting: auto picks from them). */
  installed?: InstalledApis;
  /** Milliseconds since the epoch. */
  now?: number;
  /** A hash of the database credentials, part of the pod template (new credentials, new revision). */
  credentialsHash?: string;
  /**
   * The revision the spec asks for may not get pods or traffic yet (its schema migration runs or
   * failed): what runs keeps running as it is, and the conditions say why.
   */
  hold?: ReleaseHold;
  /** A hash of the referenced ConfigMaps' and Secrets' data, part of the pod template (new config, new revision). */
  configHash?: string;
  /** The operator's OTLP endpoint, for traced services' pod templates. */
  otlpEndpoint?: string;
}

/** The pod-template options of a workload input. */
export const templateOptions = (input: WorkloadInput): PodTemplateOptions => ({
  ...(input.credentialsHash === undefined ? {} : { credentialsHash: input.credentialsHash }),
  ...(input.configHash === undefined ? {} : { configHash: input.configHash }),
  ...(input.otlpEndpoint === undefined ? {} : { otlpEndpoint: input.otlpEndpoint }),
});

/** How traffic reaches the revisions: every pod (plain, rolling), weighted, or blue-green. */
export type ReleaseTraffic =
  | { kind: 'allPods' }
  /** Routes weighted across revisions: Istio subsets, or Gateway API backends on per-revision Services. */
  | { kind: 'split'; split: TrafficSplit[] }
  /** The service's Service selects `active`; `<name>-preview` selects `preview`. */
  | { kind: 'blueGreen'; active: string; preview: string };

/** What a release did to its Rollout: the new status, the Events, the request to clear. */
export interface ReleaseOutcome {
  rollout: KubeObject;
  status: RolloutStatus;
  events: PlannedEvent[];
  /** Plan again after this many milliseconds even if nothing changes. */
  requeueAfterMs?: number;
  /** The analyses the release waits on, and the Rollout's AnalysisRuns as observed. */
  analysis?: { wanted: WantedRun[]; runs: KubeObject[] };
}

export interface WorkloadPlan {
  /** The Deployments to apply; owned ones neither in this list nor in `keep` are deleted. */
  deployments: V1Deployment[];
  /** Names of owned Deployments kept exactly as they are, with no write. */
  keep?: string[];
  /** Default: every pod of the service behind its Service and routes. */
  traffic?: ReleaseTraffic;
  /** Set when a Rollout drives the release. */
  release?: ReleaseOutcome;
  /** The Deployment the HPA scales. */
  hpaTarget: string;
  /** Ready, Progressing and Degraded, in that order. */
  conditions: [ConditionFact, ConditionFact, ConditionFact];
  replicas: number;
  readyReplicas: number;
  /** The revision serving all traffic; undefined when not known yet (keep the previous one). */
  currentRevision: string | undefined;
}

export type WorkloadPlanner = (input: WorkloadInput) => WorkloadPlan;

type Health = { state: 'available' | 'progressing' | 'failed'; reason: string; message: string };

/** How far the Deployment is from running every pod of `desired` available (kubectl rollout status's rules). */
export function computeDeploymentHealth(desired: V1Deployment, observed: V1Deployment | undefined): Health {
  const name = desired.metadata?.name;
  if (!observed) return { state: 'progressing', reason: Reason.Creating, message: `creating Deployment ${name}` };
  const status = observed.status ?? {};
  const failed = status.conditions?.find((c) => c.type === 'Progressing' && c.reason === 'ProgressDeadlineExceeded');
  if (failed) {
    return { state: 'failed', reason: Reason.ProgressDeadlineExceeded, message: failed.message ?? `${name} is stuck` };
  }
  const rolling = (message: string): Health => ({ state: 'progressing', reason: Reason.RollingUpdate, message });
  if (!isContainedIn(desired.spec?.template, observed.spec?.template)) {
    return rolling(`Deployment ${name} is being updated to a new pod template`);
  }
  if ((status.observedGeneration ?? 0) < (observed.metadata?.generation ?? 0)) {
    return rolling(`waiting for the Deployment controller to observe ${name}'s latest generation`);
  }
  const wanted = observed.spec?.replicas ?? 1;
  const updated = status.updatedReplicas ?? 0;
  const total = status.replicas ?? 0;
  const available = status.availableReplicas ?? 0;
  if (updated < wanted) return rolling(`${updated} of ${wanted} pods of ${name} updated`);
  if (total > updated) return rolling(`${total - updated} old pods of ${name} terminating`);
  if (available < updated) return rolling(`${available} of ${updated} updated pods of ${name} available`);
  return { state: 'available', reason: Reason.Available, message: `${available} of ${wanted} pods available` };
}

/**
 * A service that has not been Ready since it was created is still Creating, whatever step its
 * Deployment is at (so its first rollout is one reason, not Creating, then RollingUpdate).
 */
export function keepCreating(health: Health, ms: MicroService): Health {
  const ready = ms.status?.conditions?.find((c) => c.type === ConditionType.Ready);
  return health.state === 'progressing' && ready?.reason === Reason.Creating
    ? { ...health, reason: Reason.Creating }
    : health;
}

/** Ready, Progressing and Degraded from a workload's health. */
export function computeWorkloadConditions(health: Health): [ConditionFact, ConditionFact, ConditionFact] {
  const { state, reason, message } = health;
  return [
    { type: ConditionType.Ready, status: state === 'available' ? 'True' : 'False', reason, message },
    state === 'progressing'
      ? { type: ConditionType.Progressing, status: 'True', reason, message }
      : {
          type: ConditionType.Progressing,
          status: 'False',
          reason: state === 'failed' ? reason : Reason.Idle,
          message,
        },
    state === 'failed'
      ? { type: ConditionType.Degraded, status: 'True', reason, message }
      : { type: ConditionType.Degraded, status: 'False', reason: Reason.AsExpected, message: 'no failures' },
  ];
}

/**
 * Ready, Progressing and Degraded while a hold keeps the new revision back: Ready as the running
 * revision is, Progressing while the migration runs, Degraded once it failed.
 */
export function heldConditions(hold: ReleaseHold, running: Health): [ConditionFact, ConditionFact, ConditionFact] {
  const [ready] = computeWorkloadConditions(running);
  const { reason, message } = hold;
  const readyFact: ConditionFact =
    ready.status === 'True' ? { ...ready, message: `${ready.message}; ${message}` } : { ...ready, reason, message };
  if (reason === MigrationReason.MigrationFailed) {
    return [
      readyFact,
      { type: ConditionType.Progressing, status: 'False', reason, message },
      { type: ConditionType.Degraded, status: 'True', reason, message },
    ];
  }
  return [
    readyFact,
    { type: ConditionType.Progressing, status: 'True', reason, message },
    { type: ConditionType.Degraded, status: 'False', reason: Reason.AsExpected, message: 'no failures' },
  ];
}

/** No Rollout: one Deployment named after the service, updated in place with a rolling update. */
export const planPlainWorkload: WorkloadPlanner = (input) => {
  const { ms, deployments } = input;
  const { name } = identityOf(ms);
  if (input.hold) {
    // Nothing is written: the running Deployment keeps its template until the new revision may start.
    const running = deployments.find((d) => d.metadata.name === name) as V1Deployment | undefined;
    const health: Health = running
      ? computeDeploymentHealth(running, running)
      : { state: 'progressing', reason: Reason.Creating, message: `Deployment ${name} waits` };
    const keep = deployments.map((d) => d.metadata.name ?? '').filter((kept) => kept !== '');
    return {
      deployments: [],
      ...(keep.length > 0 ? { keep } : {}),
      hpaTarget: name,
      conditions: heldConditions(input.hold, health),
      replicas: running?.status?.replicas ?? 0,
      readyReplicas: running?.status?.readyReplicas ?? 0,
      currentRevision: undefined,
    };
  }
  const desired = buildDeployment(ms, templateOptions(input));
  const observed = deployments.find((d) => d.metadata.name === name) as V1Deployment | undefined;
  const health = keepCreating(computeDeploymentHealth(desired, observed), ms);
  // Back from a Rollout: its revisions keep serving until the plain Deployment is available.
  const keep =
    health.state === 'available'
      ? []
      : deployments.map((d) => d.metadata.name ?? '').filter((other) => other !== name && other !== '');
  return {
    deployments: [desired],
    ...(keep.length > 0 ? { keep } : {}),
    hpaTarget: name,
    conditions: computeWorkloadConditions(health),
    replicas: observed?.status?.replicas ?? 0,
    readyReplicas: observed?.status?.readyReplicas ?? 0,
    currentRevision:
      health.state === 'available' ? computeRevision(buildPodTemplate(ms, templateOptions(input))) : undefined,
  };
};
