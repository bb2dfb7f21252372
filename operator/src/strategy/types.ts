// The input and the output of the release strategies. A strategy is a pure function from these
// inputs to a plan: no clock (`now` is passed in), no I/O, no randomness.
import type { Static } from '@sinclair/typebox';
import type { AnalysisGate, AnalysisPhase } from '../api/analysis.ts';
import type { Condition } from '../api/common.ts';
import type { RolloutPhase, RolloutSpec, RolloutStatus, TrafficRouting } from '../api/rollout.ts';

export type CanaryStrategy = NonNullable<RolloutSpec['strategy']['canary']>;
export type CanaryStep = CanaryStrategy['steps'][number];
export type BlueGreenStrategy = NonNullable<RolloutSpec['strategy']['blueGreen']>;
export type RollingStrategy = NonNullable<RolloutSpec['strategy']['rolling']>;
export type StrategyName = NonNullable<RolloutStatus['strategy']>;
export type RolloutCondition = Static<typeof Condition>;

/**
 * The Rollout status as the strategies read and write it. The API keeps pauseStartTime,
 * abortedRevision, notReadySince and scaleDown so that a release's progress survives restarts.
 *
 * Field meanings per strategy:
 * - `stableRevision`: the revision that serves traffic (blue-green: the active one).
 * - `canaryRevision`: the revision being released (blue-green: the preview; rolling: the new one);
 *   unset when no release is in progress. An aborted release keeps it, with `abortedRevision` equal.
 * - `currentStepIndex`: canary: the step being carried out, `steps.length` while the canary is
 *   scaled to full size before it takes all traffic. Blue-green: 0 before promotion, 1 after it.
 */
export type StrategyStatus = RolloutStatus;

/** One revision (Deployment) of the service as observed in the cache. */
export interface ObservedRevision {
  /** The hash of the pod template. */
  revision: string;
  /** The Deployment's spec.replicas: what was last asked for. */
  replicas: number;
  /** The Deployment's status.readyReplicas. */
  readyReplicas: number;
}

/** The one-shot requests of the Rollout spec, as found on this reconcile. */
export interface RolloutRequests {
  promote?: 'step' | 'full';
  abort?: boolean;
  retry?: boolean;
}

/** An AnalysisRun of the release, as observed: its phase and, once decided, why. */
export interface ObservedAnalysisRun {
  name: string;
  phase: AnalysisPhase;
  message?: string;
}

/** Templates and args of an analysis, as the Rollout names them. */
export type AnalysisRequest = NonNullable<CanaryStep['analysis']>;

/** An analysis the release waits on now; the reconciler makes its AnalysisRun if none exists. */
export interface WantedAnalysis {
  /** analysisKey(revision, attempt, gate, stepIndex): the run's name after the Rollout's. */
  key: string;
  gate: AnalysisGate;
  stepIndex?: number;
  revision: string;
  attempt: number;
  request: AnalysisRequest;
}

export interface StrategyInput<S> {
  strategy: S;
  /** spec.paused: the user's hold. */
  paused: boolean;
  requests: RolloutRequests;
  /** The previous status; `{}` for a new Rollout. */
  status: StrategyStatus;
  /** The hash of the MicroService's current pod template. */
  desiredRevision: string;
  revisions: ObservedRevision[];
  /** Pods the stable revision should have: spec.replicas, or the HPA's current replicas. */
  replicas: number;
  /** Milliseconds since the epoch. */
  now: number;
  /** The Rollout's metadata.generation, for the conditions' observedGeneration. */
  generation?: number;
  /** The release's AnalysisRuns, by analysisKey. */
  analysisRuns?: ReadonlyMap<string, ObservedAnalysisRun>;
}

export interface CanaryInput extends StrategyInput<CanaryStrategy> {
  /** trafficRouting with `auto` resolved to what is installed. Defaults to spec's, then istio. */
  trafficRouting?: Exclude<TrafficRouting, 'auto'>;
}
export interface BlueGreenInput extends StrategyInput<BlueGreenStrategy> {
  /** The health gate of the preview (the API has no field for it yet); default 600. */
  progressDeadlineSeconds?: number;
}
export interface RollingInput extends StrategyInput<RollingStrategy> {
  /** The health gate of a rolling update (the API has no field for it yet); default 600. */
  progressDeadlineSeconds?: number;
}

export type RevisionRole = 'stable' | 'canary' | 'active' | 'preview' | 'previous';

/** A revision the service keeps, with its pod count. An observed revision not listed is deleted. */
export interface PlannedRevision {
  revision: string;
  role: RevisionRole;
  replicas: number;
}

export interface TrafficWeight {
  revision: string;
  /** Percent; the weights of a plan sum to 100. */
  weight: number;
}

export type TrafficPlan =
  /** Canary: route by weight (a mesh, or approximated by replicas: see `approximatedByReplicas`). */
  | { kind: 'weighted'; weights: TrafficWeight[]; approximatedByReplicas: boolean }
  /** Blue-green: the main Service selects `active`, the `<name>-preview` Service selects `preview`. */
  | { kind: 'blueGreen'; active: string; preview?: string }
  /** Rolling: the Service selects the pods of every live revision. */
  | { kind: 'selector' };

export interface PlannedEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export type RequestName = 'promote' | 'abort' | 'retry';

export interface RolloutPlan {
  revisions: PlannedRevision[];
  traffic: TrafficPlan;
  /** The revision the HPA (if any) targets: the one serving traffic. */
  scaleTarget: string;
  /** The new status, conditions included. */
  status: StrategyStatus;
  events: PlannedEvent[];
  /** The one-shot request this plan carried out; the reconciler clears it from the spec. */
  requestHandled?: RequestName;
  /** When to plan again even if nothing changes; 0 means at once. Unset: only on a change. */
  requeueAfterMs?: number;
  /** The analyses the release waits on now (their runs are made if missing; others are stopped). */
  analysis?: WantedAnalysis[];
}

export type { RolloutPhase };
