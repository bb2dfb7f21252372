// The steps every strategy shares: adopting what runs, following the desired revision, the
// one-shot requests, the health gate, the previous revision's delayed scale-down, and the final
// assembly of a plan. Each works on a small draft: the status being built, the events, the
// request carried out and the earliest time to look again.
import { buildConditions, EventReason, type Outcome, Reason } from './conditions.ts';
import type {
  AnalysisRequest,
  ObservedAnalysisRun,
  PlannedEvent,
  PlannedRevision,
  RequestName,
  RolloutPlan,
  StrategyInput,
  StrategyName,
  StrategyStatus,
  TrafficPlan,
  WantedAnalysis,
} from './types.ts';

/** The revisions, traffic and scale target of a plan, given the new revision's pods. */
export type PlanParts = Pick<RolloutPlan, 'revisions' | 'traffic' | 'scaleTarget'>;
export type Layout = (newReplicas: number) => PlanParts;

export interface Draft {
  strategy: StrategyName;
  status: StrategyStatus;
  events: PlannedEvent[];
  requestHandled?: RequestName;
  requeueAfterMs?: number;
  analysis: WantedAnalysis[];
}

export const DEFAULT_PROGRESS_DEADLINE_SECONDS = 600;
export const DEFAULT_SCALE_DOWN_DELAY_SECONDS = 30;

export function startDraft(input: StrategyInput<unknown>, strategy: StrategyName): Draft {
  return { strategy, status: { ...input.status }, events: [], analysis: [] };
}

export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

export function emit(draft: Draft, type: PlannedEvent['type'], reason: string, message: string): void {
  draft.events.push({ type, reason, message });
}

/** Looks again after `ms` at the latest (the earliest of all the timers asked for). */
export function requeue(draft: Draft, ms: number): void {
  const after = Math.max(0, Math.ceil(ms));
  draft.requeueAfterMs = draft.requeueAfterMs === undefined ? after : Math.min(draft.requeueAfterMs, after);
}

export type ActionName = 'PromoteStep' | 'PromoteFull' | 'Abort' | 'Retry';

const REQUEST_OF: Record<ActionName, RequestName> = {
  PromoteStep: 'promote',
  PromoteFull: 'promote',
  Abort: 'abort',
  Retry: 'retry',
};

/** Records that a one-shot request was carried out (or knowingly ignored), so the reconciler clears it. */
export function act(input: StrategyInput<unknown>, draft: Draft, action: ActionName, message: string): void {
  draft.requestHandled = REQUEST_OF[action];
  draft.status.lastAction = { action, time: isoTime(input.now), message };
}

/** Carries out a request that has nothing to act on: recorded, announced, and cleared. */
export function ignore(input: StrategyInput<unknown>, draft: Draft, action: ActionName, why: string): void {
  act(input, draft, action, `ignored: ${why}`);
  emit(draft, 'Normal', EventReason.RequestIgnored, `${action} ignored: ${why}`);
}

export function observed(input: StrategyInput<unknown>, revision: string | undefined) {
  return input.revisions.find((candidate) => candidate.revision === revision);
}

export function readyOf(input: StrategyInput<unknown>, revision: string | undefined): number {
  return observed(input, revision)?.readyReplicas ?? 0;
}

/**
 * A Rollout without a stable revision adopts what runs: the revision with the most Ready pods
 * (the desired one first on a tie) becomes stable without a restart. Nothing running: the desired
 * revision is the first one, deployed at once (there is nothing to compare a canary with).
 */
export function adopt(input: StrategyInput<unknown>, draft: Draft): void {
  if (draft.status.stableRevision) return;
  const running = input.revisions
    .filter((candidate) => candidate.replicas > 0 || candidate.readyReplicas > 0)
    .sort(
      (a, b) =>
        b.readyReplicas - a.readyReplicas ||
        Number(b.revision === input.desiredRevision) - Number(a.revision === input.desiredRevision),
    );
  const chosen = running[0]?.revision;
  draft.status.stableRevision = chosen ?? input.desiredRevision;
  if (chosen) {
    emit(draft, 'Normal', EventReason.Adopted, `revision ${chosen} was already running: adopted as stable, no restart`);
  }
}

/** Forgets the release in progress (not the stable revision). */
function clearRelease(status: StrategyStatus): void {
  status.canaryRevision = undefined;
  status.canaryWeight = 0;
  status.currentStepIndex = undefined;
  status.pauseStartTime = undefined;
  status.abortedRevision = undefined;
  status.notReadySince = undefined;
  status.attempt = undefined;
}

/**
 * The release follows the MicroService's current pod template. A new revision mid-release drops
 * the half-released one and starts over, from the first step, for the newest; going back to the
 * stable revision cancels the release. A new release also drops a previous revision still waiting
 * for its scale-down, so that at most two revisions live.
 */
export function followDesiredRevision(input: StrategyInput<unknown>, draft: Draft): void {
  const status = draft.status;
  const desired = input.desiredRevision;
  const sameStrategy = (status.strategy ?? draft.strategy) === draft.strategy;
  if (status.canaryRevision === desired && sameStrategy) return;
  if (desired === status.stableRevision) {
    if (!status.canaryRevision) return;
    emit(
      draft,
      'Normal',
      EventReason.ReleaseCancelled,
      `revision ${status.canaryRevision} dropped: the service is back at the stable revision ${desired}`,
    );
    clearRelease(status);
    return;
  }
  if (status.canaryRevision && status.canaryRevision !== desired) {
    emit(
      draft,
      'Normal',
      EventReason.ReleaseRestarted,
      `revision ${status.canaryRevision} dropped before its release finished; releasing ${desired} from the start`,
    );
  } else if (status.canaryRevision) {
    emit(draft, 'Normal', EventReason.ReleaseRestarted, `strategy is now ${draft.strategy}: releasing ${desired} anew`);
  } else {
    emit(
      draft,
      'Normal',
      EventReason.ReleaseStarted,
      `releasing revision ${desired} (stable: ${status.stableRevision})`,
    );
  }
  clearRelease(status);
  status.scaleDown = undefined;
  status.canaryRevision = desired;
  status.currentStepIndex = 0;
}

/**
 * The previous stable revision keeps its pods until its scale-down time, then is deleted (an
 * observed revision missing from a plan is deleted).
 */
export function keepPrevious(input: StrategyInput<unknown>, draft: Draft): PlannedRevision[] {
  const pending = draft.status.scaleDown;
  if (!pending) return [];
  const previous = observed(input, pending.revision);
  const left = Date.parse(pending.at) - input.now;
  const live = pending.revision !== draft.status.stableRevision && pending.revision !== draft.status.canaryRevision;
  if (!previous || !live || left <= 0) {
    draft.status.scaleDown = undefined;
    if (previous && live) {
      emit(draft, 'Normal', EventReason.ScaledDown, `previous revision ${pending.revision} scaled down`);
    }
    return [];
  }
  requeue(draft, left);
  return [{ revision: pending.revision, role: 'previous', replicas: previous.replicas }];
}

/** After a release: the old stable keeps its pods for scaleDownDelaySeconds, then goes. */
export function scheduleScaleDown(
  input: StrategyInput<unknown>,
  draft: Draft,
  revision: string,
  delaySeconds: number,
): PlannedRevision[] {
  const pods = observed(input, revision)?.replicas ?? 0;
  if (pods === 0 || delaySeconds <= 0) return [];
  draft.status.scaleDown = { revision, at: isoTime(input.now + delaySeconds * 1000) };
  requeue(draft, delaySeconds * 1000);
  return [{ revision, role: 'previous', replicas: pods }];
}

export type HealthCheck = { failed: false } | { failed: true; message: string };

/**
 * The health gate: the new revision must have `target` Ready pods within the deadline, counted
 * from the first plan that saw it short of them (`status.notReadySince`).
 */
export function checkHealth(
  input: StrategyInput<unknown>,
  draft: Draft,
  revision: string,
  target: number,
  deadlineSeconds: number,
): HealthCheck {
  const ready = readyOf(input, revision);
  if (ready >= target) {
    draft.status.notReadySince = undefined;
    return { failed: false };
  }
  const since = draft.status.notReadySince ?? isoTime(input.now);
  draft.status.notReadySince = since;
  const left = Date.parse(since) + deadlineSeconds * 1000 - input.now;
  if (left > 0) {
    requeue(draft, left);
    return { failed: false };
  }
  return {
    failed: true,
    message: `revision ${revision} had ${ready} of ${target} pods Ready after progressDeadlineSeconds (${deadlineSeconds}s)`,
  };
}

/** Marks the release in progress as aborted; the caller plans the rollback itself. */
export function markAborted(draft: Draft, outcome: Outcome): void {
  // A Degraded release says why in its Event's reason (ProgressDeadlineExceeded, AnalysisFailed).
  const status = draft.status;
  status.abortedRevision = status.canaryRevision;
  status.canaryWeight = 0;
  status.pauseStartTime = undefined;
  status.notReadySince = undefined;
  status.phase = outcome.phase;
  status.message = outcome.message;
  const reason = outcome.phase === 'Degraded' ? outcome.reason : EventReason.RolloutAborted;
  emit(draft, 'Warning', reason, outcome.message);
}

/** The outcome kept by an aborted release until retry or a new revision. */
export function abortedOutcome(status: StrategyStatus): Outcome {
  const degraded = status.phase === 'Degraded';
  const recorded = status.conditions?.find((c) => c.type === 'Aborted' && c.status === 'True')?.reason;
  return {
    phase: degraded ? 'Degraded' : 'Aborted',
    reason: degraded ? (recorded ?? Reason.ProgressDeadlineExceeded) : Reason.AbortedByRequest,
    message: status.message ?? `the release of ${status.canaryRevision} was aborted; retry with spec.retry`,
  };
}

/** An abort request: the release is marked aborted, all traffic goes back to stable. */
export function abortByRequest(input: StrategyInput<unknown>, draft: Draft): void {
  const status = draft.status;
  if (status.abortedRevision === status.canaryRevision) {
    ignore(input, draft, 'Abort', `the release of ${status.canaryRevision} is already aborted`);
    return;
  }
  const message = `release of ${status.canaryRevision} aborted on request: all traffic back to ${status.stableRevision}`;
  markAborted(draft, { phase: 'Aborted', reason: Reason.AbortedByRequest, message });
  act(input, draft, 'Abort', message);
}

/** A retry request: an aborted release starts again from its first step. */
export function retry(input: StrategyInput<unknown>, draft: Draft): void {
  const status = draft.status;
  if (status.abortedRevision !== status.canaryRevision) {
    ignore(input, draft, 'Retry', `the release of ${status.canaryRevision} is not aborted`);
    return;
  }
  status.abortedRevision = undefined;
  status.attempt = (status.attempt ?? 0) + 1;
  status.currentStepIndex = 0;
  status.canaryWeight = 0;
  status.notReadySince = undefined;
  status.pauseStartTime = undefined;
  const message = `retrying the release of ${status.canaryRevision} from the start`;
  act(input, draft, 'Retry', message);
  emit(draft, 'Normal', EventReason.RetryStarted, message);
}

/** Requests with no release in progress: each is cleared, one per plan, and said to be ignored. */
export function ignoreRequestsWhenIdle(input: StrategyInput<unknown>, draft: Draft): void {
  const { abort, retry: retryRequested, promote } = input.requests;
  const why = 'no release in progress';
  if (abort) ignore(input, draft, 'Abort', why);
  else if (retryRequested) ignore(input, draft, 'Retry', why);
  else if (promote) ignore(input, draft, promote === 'full' ? 'PromoteFull' : 'PromoteStep', why);
}

/** No release in progress: the stable revision at full size, and the previous one until its time. */
export function planSteady(
  input: StrategyInput<unknown>,
  draft: Draft,
  traffic: TrafficPlan,
  role: 'stable' | 'active',
): RolloutPlan {
  const stable = draft.status.stableRevision as string;
  ignoreRequestsWhenIdle(input, draft);
  draft.status.canaryWeight = 0;
  const previous = keepPrevious(input, draft);
  const ready = readyOf(input, stable);
  const outcome: Outcome =
    ready >= input.replicas
      ? {
          phase: 'Healthy',
          reason: Reason.Healthy,
          message: `revision ${stable} serves all traffic, ${ready} pods Ready`,
        }
      : {
          phase: 'Progressing',
          reason: Reason.StableNotReady,
          message: `revision ${stable} has ${ready} of ${input.replicas} pods Ready`,
        };
  return finish(input, draft, outcome, {
    revisions: [{ revision: stable, role, replicas: input.replicas }, ...previous],
    traffic,
    scaleTarget: stable,
  });
}

/** Drops the keys whose value is undefined, so that an unchanged status compares equal. */
function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as T;
}

/** The plan: the status gets its phase, message and conditions; the draft's events and timers go along. */
export function finish(input: StrategyInput<unknown>, draft: Draft, outcome: Outcome, parts: PlanParts): RolloutPlan {
  const status = compact({
    ...draft.status,
    strategy: draft.strategy,
    phase: outcome.phase,
    message: outcome.message,
    conditions: buildConditions(input.status.conditions, outcome, isoTime(input.now), input.generation),
  });
  const plan: RolloutPlan = { ...parts, status, events: draft.events, analysis: draft.analysis };
  if (draft.requestHandled) plan.requestHandled = draft.requestHandled;
  if (draft.requeueAfterMs !== undefined) plan.requeueAfterMs = draft.requeueAfterMs;
  return plan;
}

/** Aborted (by request or by the health gate): all traffic on stable, the new revision at 0 pods. */
export function planAborted(input: StrategyInput<unknown>, draft: Draft, layout: Layout): RolloutPlan {
  const { promote } = input.requests;
  if (promote) ignore(input, draft, promote === 'full' ? 'PromoteFull' : 'PromoteStep', 'the release is aborted');
  draft.status.canaryWeight = 0;
  draft.status.notReadySince = undefined;
  return finish(input, draft, abortedOutcome(draft.status), layout(0));
}

/** Auto-abort: the new revision was not Ready within progressDeadlineSeconds, or an analysis failed. */
export function planDegraded(
  input: StrategyInput<unknown>,
  draft: Draft,
  cause: string,
  layout: Layout,
  reason: string = Reason.ProgressDeadlineExceeded,
): RolloutPlan {
  const message = `${cause}: aborted, all traffic back to ${draft.status.stableRevision}`;
  markAborted(draft, { phase: 'Degraded', reason, message });
  return finish(input, draft, { ...abortedOutcome(draft.status), reason }, layout(0));
}

/** The name of an analysis of the release, unique per revision, attempt and gate. */
export function analysisKey(
  revision: string,
  attempt: number,
  gate: WantedAnalysis['gate'],
  stepIndex?: number,
): string {
  const where = gate === 'Step' ? `step${stepIndex ?? 0}` : gate.toLowerCase();
  return `${revision.slice(0, 10)}-${attempt}-${where}`;
}

/**
 * The release waits on an analysis: it is wanted (its run is made if missing), and its run, if
 * observed, is returned.
 */
export function wantAnalysis(
  input: StrategyInput<unknown>,
  draft: Draft,
  gate: WantedAnalysis['gate'],
  request: AnalysisRequest,
  stepIndex?: number,
): ObservedAnalysisRun | undefined {
  const revision = draft.status.canaryRevision as string;
  const attempt = draft.status.attempt ?? 0;
  const key = analysisKey(revision, attempt, gate, stepIndex);
  if (!draft.analysis.some((wanted) => wanted.key === key)) {
    draft.analysis.push({ key, gate, revision, attempt, request, ...(stepIndex !== undefined ? { stepIndex } : {}) });
  }
  return input.analysisRuns?.get(key);
}

/** Where an analysis stands for the release: wait, go on, pause, or abort. */
export type AnalysisState = 'waiting' | 'passed' | 'inconclusive' | 'failed';

export function analysisState(run: ObservedAnalysisRun | undefined): AnalysisState {
  switch (run?.phase) {
    case 'Successful':
      return 'passed';
    case 'Inconclusive':
      return 'inconclusive';
    case 'Failed':
    case 'Error':
      return 'failed';
    default:
      return 'waiting';
  }
}

/** The cause of an abort by analysis, naming the run, its phase and why (the metric, value, condition). */
export function analysisFailure(run: ObservedAnalysisRun): string {
  return `analysis ${run.name} ${run.phase === 'Error' ? 'erred' : 'failed'}: ${run.message ?? run.phase}`;
}

/** Paused on an Inconclusive analysis, until promote (go on) or abort. */
export function inconclusiveOutcome(run: ObservedAnalysisRun, where: string): Outcome {
  return {
    phase: 'Paused',
    reason: Reason.AnalysisInconclusive,
    message: `${where}: analysis ${run.name} was Inconclusive (${run.message ?? 'no verdict'}); promote to go on, or abort`,
  };
}

/**
 * spec.paused: nothing moves — no step, no weight, no timer; a promotion waits in the spec. The
 * health gate's clock restarts when the hold ends.
 */
export function planFrozen(
  input: StrategyInput<unknown>,
  draft: Draft,
  where: string,
  newReplicas: number,
  layout: Layout,
): RolloutPlan {
  draft.status.notReadySince = undefined;
  const message = `spec.paused is true: held ${where}`;
  return finish(input, draft, { phase: 'Paused', reason: Reason.PausedByUser, message }, layout(newReplicas));
}

/**
 * The new revision, at full size and Ready, becomes stable; the old stable keeps its pods for
 * `delaySeconds`. Returns the promoted revision, the old one (if kept) and what was done.
 */
export function completeRelease(input: StrategyInput<unknown>, draft: Draft, delaySeconds: number) {
  const status = draft.status;
  const promoted = status.canaryRevision as string;
  const old = status.stableRevision as string;
  status.stableRevision = promoted;
  status.canaryRevision = undefined;
  status.canaryWeight = 0;
  status.notReadySince = undefined;
  status.pauseStartTime = undefined;
  const previous = scheduleScaleDown(input, draft, old, delaySeconds);
  const message = `revision ${promoted} promoted: it serves all traffic; ${old} scales down in ${delaySeconds}s`;
  emit(draft, 'Normal', EventReason.RolloutCompleted, message);
  const outcome: Outcome = { phase: 'Healthy', reason: Reason.Healthy, message };
  return { promoted, previous, outcome };
}
