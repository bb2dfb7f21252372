// The rolling state machine: the new revision's Deployment grows and the stable one shrinks within
// maxSurge and maxUnavailable, as the Deployment controller would do inside one Deployment; the
// Service selects the pods of both. An abort (or the health gate) rolls back the same way.
import { computeRollingReplicas, type RollingBounds } from './compute.ts';
import { EventReason, type Outcome, Reason } from './conditions.ts';
import {
  abortByRequest,
  abortedOutcome,
  adopt,
  checkHealth,
  DEFAULT_PROGRESS_DEADLINE_SECONDS,
  type Draft,
  emit,
  finish,
  followDesiredRevision,
  ignore,
  markAborted,
  observed,
  planFrozen,
  planSteady,
  readyOf,
  retry,
  startDraft,
} from './release.ts';
import type { PlannedRevision, RollingInput, RolloutPlan } from './types.ts';

const SELECTOR = { kind: 'selector' } as const;

/** The plan for a rolling update: the pods of the stable and the new revision, conditions, timers. */
export function planRolling(input: RollingInput): RolloutPlan {
  const draft = startDraft(input, 'Rolling');
  adopt(input, draft);
  rebase(input, draft);
  followDesiredRevision(input, draft);
  const { canaryRevision } = draft.status;
  if (!canaryRevision) return planSteady(input, draft, SELECTOR, 'stable');
  if (input.requests.abort) abortByRequest(input, draft);
  else if (input.requests.retry) retry(input, draft);
  if (draft.status.abortedRevision === canaryRevision) return planRollback(input, draft);
  if (input.paused) {
    const pods = observed(input, canaryRevision)?.replicas ?? 0;
    return planFrozen(input, draft, `mid-update to ${canaryRevision}`, pods, (newPods) => ({
      revisions: pair(draft, observed(input, draft.status.stableRevision)?.replicas ?? 0, newPods),
      traffic: SELECTOR,
      scaleTarget: draft.status.stableRevision as string,
    }));
  }
  const { promote } = input.requests;
  if (promote) {
    ignore(input, draft, promote === 'full' ? 'PromoteFull' : 'PromoteStep', 'a rolling update has no steps');
  }
  return planUpdate(input, draft);
}

/**
 * A new revision in the middle of an update: of the two live revisions the one with more Ready
 * pods becomes the base the newest rolls from, and the other goes (at most two revisions live).
 * An aborted revision is never the base.
 */
function rebase(input: RollingInput, draft: Draft): void {
  const status = draft.status;
  const { stableRevision: stable, canaryRevision: half } = status;
  if (!half || half === input.desiredRevision || input.desiredRevision === stable) return;
  if (status.abortedRevision === half || readyOf(input, half) <= readyOf(input, stable)) return;
  emit(
    draft,
    'Normal',
    EventReason.ReleaseRestarted,
    `revision ${half} has more Ready pods than ${stable}: the update to ${input.desiredRevision} starts from it`,
  );
  status.stableRevision = half;
  status.canaryRevision = undefined;
}

function bounds(input: RollingInput): RollingBounds {
  return {
    total: input.replicas,
    maxSurge: input.strategy.maxSurge ?? '25%',
    maxUnavailable: input.strategy.maxUnavailable ?? 0,
  };
}

function pods(input: RollingInput, revision: string | undefined) {
  const found = observed(input, revision);
  return { replicas: found?.replicas ?? 0, readyReplicas: found?.readyReplicas ?? 0 };
}

function pair(draft: Draft, stablePods: number, newPods: number): PlannedRevision[] {
  return [
    { revision: draft.status.stableRevision as string, role: 'stable', replicas: stablePods },
    { revision: draft.status.canaryRevision as string, role: 'canary', replicas: newPods },
  ];
}

/** One step of the update; once the new revision has all its pods Ready it is stable, the old one goes. */
function planUpdate(input: RollingInput, draft: Draft): RolloutPlan {
  const status = draft.status;
  const stable = status.stableRevision as string;
  const next = status.canaryRevision as string;
  const step = computeRollingReplicas(bounds(input), pods(input, stable), pods(input, next));
  const deadline = input.progressDeadlineSeconds ?? DEFAULT_PROGRESS_DEADLINE_SECONDS;
  const health = checkHealth(input, draft, next, step.to, deadline);
  if (health.failed) {
    const message = `${health.message}: aborted, rolling back to ${stable}`;
    markAborted(draft, { phase: 'Degraded', reason: Reason.ProgressDeadlineExceeded, message });
    return planRollback(input, draft);
  }
  const ready = readyOf(input, next);
  if (ready >= input.replicas && step.from === 0) {
    status.stableRevision = next;
    status.canaryRevision = undefined;
    status.canaryWeight = 0;
    status.notReadySince = undefined;
    const message = `revision ${next} rolled out: ${ready} pods Ready; ${stable} removed`;
    emit(draft, 'Normal', EventReason.RolloutCompleted, message);
    return finish(
      input,
      draft,
      { phase: 'Healthy', reason: Reason.Healthy, message },
      {
        revisions: [{ revision: next, role: 'stable', replicas: input.replicas }],
        traffic: SELECTOR,
        scaleTarget: next,
      },
    );
  }
  const outcome: Outcome = {
    phase: 'Progressing',
    reason: Reason.RollingUpdate,
    message: `updating to ${next}: ${ready} of ${input.replicas} new pods Ready, ${step.from} old pods left`,
  };
  return finish(input, draft, outcome, {
    revisions: pair(draft, step.from, step.to),
    traffic: SELECTOR,
    scaleTarget: stable,
  });
}

/** Aborted: the stable revision grows back and the aborted one shrinks, within the same bounds. */
function planRollback(input: RollingInput, draft: Draft): RolloutPlan {
  const { promote } = input.requests;
  if (promote) ignore(input, draft, promote === 'full' ? 'PromoteFull' : 'PromoteStep', 'the update is aborted');
  draft.status.notReadySince = undefined;
  const stable = draft.status.stableRevision as string;
  const aborted = draft.status.canaryRevision as string;
  const step = computeRollingReplicas(bounds(input), pods(input, aborted), pods(input, stable));
  return finish(input, draft, abortedOutcome(draft.status), {
    revisions: pair(draft, step.to, step.from),
    traffic: SELECTOR,
    scaleTarget: stable,
  });
}
