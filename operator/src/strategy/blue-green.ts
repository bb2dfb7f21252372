// The blue-green state machine: the new revision (preview) runs beside the active one behind the
// <name>-preview Service; promotion grows it to full size, then switches the active Service to it
// in one write. The old colour keeps its pods for scaleDownDelaySeconds.
//
// Status: stableRevision is the active revision, canaryRevision the preview; currentStepIndex is
// 0 before promotion and 1 after it; with a postPromotionAnalysis, 2 once the Service has switched
// to the new revision while the old one keeps its pods to switch back, and 3 when a person accepted
// that analysis Inconclusive; pauseStartTime is when the preview became Ready (the clock of
// autoPromotionSeconds).
import { EventReason, type Outcome, Reason } from './conditions.ts';
import {
  abortByRequest,
  act,
  adopt,
  analysisFailure,
  analysisState,
  checkHealth,
  completeRelease,
  DEFAULT_PROGRESS_DEADLINE_SECONDS,
  DEFAULT_SCALE_DOWN_DELAY_SECONDS,
  type Draft,
  emit,
  finish,
  followDesiredRevision,
  ignore,
  inconclusiveOutcome,
  isoTime,
  planAborted,
  planDegraded,
  planFrozen,
  planSteady,
  readyOf,
  requeue,
  retry,
  startDraft,
  wantAnalysis,
} from './release.ts';
import type { BlueGreenInput, BlueGreenStrategy, ObservedAnalysisRun, RolloutPlan } from './types.ts';

/** The plan for a blue-green release: active and preview revisions, their pods, conditions, timers. */
export function planBlueGreen(input: BlueGreenInput): RolloutPlan {
  const draft = startDraft(input, 'BlueGreen');
  adopt(input, draft);
  followDesiredRevision(input, draft);
  const { stableRevision, canaryRevision } = draft.status;
  if (!canaryRevision) {
    return planSteady(input, draft, { kind: 'blueGreen', active: stableRevision as string }, 'active');
  }
  if (input.requests.abort) abortByRequest(input, draft);
  else if (input.requests.retry) retry(input, draft);
  if (draft.status.abortedRevision === canaryRevision)
    return planAborted(input, draft, (pods) => colours(draft, input, pods));
  if (input.paused) {
    const where = `${promoting(draft) ? 'while promoting' : 'before promotion'} of ${canaryRevision}`;
    // Held after the switch, the new revision keeps the traffic it has.
    const held = switched(draft) ? () => switchedLayout(input, draft) : (pods: number) => colours(draft, input, pods);
    return planFrozen(input, draft, where, previewTarget(input, draft), held);
  }
  if (input.requests.promote) promote(input, draft);
  return planPreview(input, draft);
}

/**
 * When the preview is promoted without a request: `undefined` never (wait for spec.promote),
 * otherwise that many seconds after it is Ready. autoPromotionEnabled: true promotes at once unless
 * autoPromotionSeconds says otherwise; false never; unset promotes only if autoPromotionSeconds is set.
 */
export function computeAutoPromotionSeconds(strategy: BlueGreenStrategy): number | undefined {
  if (strategy.autoPromotionEnabled === false) return undefined;
  if (strategy.autoPromotionEnabled === true) return strategy.autoPromotionSeconds ?? 0;
  return strategy.autoPromotionSeconds;
}

function promoting(draft: Draft): boolean {
  return (draft.status.currentStepIndex ?? 0) >= 1;
}

/** The preview's pods: previewReplicaCount before promotion, full size after it. */
function previewTarget(input: BlueGreenInput, draft: Draft): number {
  if (promoting(draft)) return input.replicas;
  return input.strategy.previewReplicaCount ?? input.replicas;
}

/** Active at full size behind the main Service; the preview with `previewReplicas` behind the preview Service. */
function colours(draft: Draft, input: BlueGreenInput, previewReplicas: number) {
  const active = draft.status.stableRevision as string;
  const preview = draft.status.canaryRevision as string;
  return {
    revisions: [
      { revision: active, role: 'active' as const, replicas: input.replicas },
      { revision: preview, role: 'preview' as const, replicas: previewReplicas },
    ],
    traffic:
      previewReplicas > 0 ? { kind: 'blueGreen' as const, active, preview } : { kind: 'blueGreen' as const, active },
    scaleTarget: active,
  };
}

/** The pre-promotion analysis of a Ready preview, if the strategy has one: wanted, and its run. */
function prePromotion(input: BlueGreenInput, draft: Draft): ObservedAnalysisRun | undefined {
  const request = input.strategy.prePromotionAnalysis;
  return request ? wantAnalysis(input, draft, 'PrePromotion', request) : undefined;
}

/** The Service has switched to the new revision, and the post-promotion analysis judges it. */
function switched(draft: Draft): boolean {
  return (draft.status.currentStepIndex ?? 0) >= 2;
}

/** The post-promotion analysis, once switched: wanted, and its run. */
function postPromotion(input: BlueGreenInput, draft: Draft): ObservedAnalysisRun | undefined {
  const request = input.strategy.postPromotionAnalysis;
  return request && switched(draft) ? wantAnalysis(input, draft, 'PostPromotion', request) : undefined;
}

/** promote while switched: past an Inconclusive post-promotion analysis, or (full) past a pending one. */
function promoteSwitched(input: BlueGreenInput, draft: Draft, action: 'PromoteFull' | 'PromoteStep'): void {
  const preview = draft.status.canaryRevision;
  const state = analysisState(postPromotion(input, draft));
  draft.analysis = [];
  if (action === 'PromoteStep' && state !== 'inconclusive') {
    ignore(
      input,
      draft,
      action,
      `${preview} is already active; its post-promotion analysis decides (promote: full skips it)`,
    );
    return;
  }
  draft.status.currentStepIndex = 3;
  const message =
    state === 'inconclusive'
      ? `promoted ${preview}: its Inconclusive post-promotion analysis is accepted`
      : `promoted ${preview}; the post-promotion analysis is skipped`;
  act(input, draft, action, message);
  emit(draft, 'Normal', state === 'inconclusive' ? EventReason.Promoted : EventReason.AnalysisSkipped, message);
}

function promote(input: BlueGreenInput, draft: Draft): void {
  const full = input.requests.promote === 'full';
  const action = full ? 'PromoteFull' : 'PromoteStep';
  const preview = draft.status.canaryRevision;
  if (switched(draft) && (draft.status.currentStepIndex ?? 0) < 3) {
    promoteSwitched(input, draft, action);
    return;
  }
  if (promoting(draft)) {
    ignore(input, draft, action, `${preview} is already being promoted`);
    return;
  }
  let skipped = '';
  if (input.strategy.prePromotionAnalysis) {
    const state = analysisState(prePromotion(input, draft));
    draft.analysis = [];
    if (!full && state === 'waiting') {
      ignore(
        input,
        draft,
        action,
        `the pre-promotion analysis of ${preview} has no verdict yet (promote: full skips it)`,
      );
      return;
    }
    if (full && state !== 'passed') skipped = '; the pre-promotion analysis is skipped';
  }
  startPromotion(
    draft,
    `promoted on request: ${preview} grows to ${input.replicas} pods, then becomes active${skipped}`,
  );
  act(input, draft, action, `promoted ${preview}${skipped}`);
  if (skipped) emit(draft, 'Normal', EventReason.AnalysisSkipped, `promoted ${preview}${skipped}`);
}

function startPromotion(draft: Draft, message: string): void {
  draft.status.currentStepIndex = 1;
  draft.status.pauseStartTime = undefined;
  emit(draft, 'Normal', EventReason.Promoted, message);
}

/** Auto-promotion: the preview has been Ready for autoPromotionSeconds. */
function autoPromote(input: BlueGreenInput, draft: Draft): void {
  const seconds = computeAutoPromotionSeconds(input.strategy);
  const status = draft.status;
  status.pauseStartTime ??= isoTime(input.now);
  if (seconds === undefined) return;
  const left = Date.parse(status.pauseStartTime) + seconds * 1000 - input.now;
  if (left > 0) {
    requeue(draft, left);
    return;
  }
  startPromotion(draft, `auto-promoted ${status.canaryRevision} after ${seconds}s Ready`);
}

function planPreview(input: BlueGreenInput, draft: Draft): RolloutPlan {
  const preview = draft.status.canaryRevision as string;
  const layout = (pods: number) => colours(draft, input, pods);
  const previewReady = !promoting(draft) && readyOf(input, preview) >= previewTarget(input, draft);
  // The pre-promotion analysis judges the Ready preview; the switch waits for it to pass.
  const analysis = previewReady ? prePromotion(input, draft) : undefined;
  const verdict = input.strategy.prePromotionAnalysis ? analysisState(analysis) : 'passed';
  if (analysis && verdict === 'failed') {
    return planDegraded(input, draft, analysisFailure(analysis), layout, Reason.AnalysisFailed);
  }
  if (previewReady && verdict === 'passed') autoPromote(input, draft);
  const target = previewTarget(input, draft);
  const deadline = input.progressDeadlineSeconds ?? DEFAULT_PROGRESS_DEADLINE_SECONDS;
  const health = checkHealth(input, draft, preview, target, deadline);
  if (health.failed) return planDegraded(input, draft, health.message, layout);

  const ready = readyOf(input, preview);
  if (promoting(draft)) {
    if (ready < target) {
      const outcome = waiting(Reason.Promoting, preview, ready, target);
      return finish(input, draft, outcome, switched(draft) ? switchedLayout(input, draft) : layout(target));
    }
    const judged = input.strategy.postPromotionAnalysis ? planPostPromotion(input, draft, layout) : undefined;
    if (judged) return judged;
    const delay = input.strategy.scaleDownDelaySeconds ?? DEFAULT_SCALE_DOWN_DELAY_SECONDS;
    const { promoted, previous, outcome } = completeRelease(input, draft, delay);
    return finish(input, draft, outcome, {
      revisions: [{ revision: promoted, role: 'active', replicas: input.replicas }, ...previous],
      traffic: { kind: 'blueGreen', active: promoted },
      scaleTarget: promoted,
    });
  }
  if (ready < target)
    return finish(input, draft, waiting(Reason.WaitingForPreview, preview, ready, target), layout(target));
  if (analysis && verdict === 'inconclusive') {
    const outcome = inconclusiveOutcome(analysis, `preview ${preview}`);
    if (input.status.message !== outcome.message)
      emit(draft, 'Warning', EventReason.AnalysisInconclusive, outcome.message);
    return finish(input, draft, outcome, layout(target));
  }
  if (verdict === 'waiting') {
    const message = `preview ${preview} is Ready; waiting for the pre-promotion analysis ${analysis?.name ?? 'to start'}${analysis?.message ? ` (${analysis.message})` : ''}`;
    return finish(input, draft, { phase: 'Progressing', reason: Reason.AnalysisRunning, message }, layout(target));
  }
  const seconds = computeAutoPromotionSeconds(input.strategy);
  const outcome: Outcome =
    seconds === undefined
      ? {
          phase: 'Paused',
          reason: Reason.AwaitingPromotion,
          message: `preview ${preview} is Ready behind the preview Service, until spec.promote`,
        }
      : {
          phase: 'Paused',
          reason: Reason.AutoPromotionPending,
          message: `preview ${preview} is Ready; promoted automatically ${seconds}s after ${draft.status.pauseStartTime}`,
        };
  return finish(input, draft, outcome, layout(target));
}

/**
 * Switched: the new revision serves all traffic behind the Service (and the preview Service), the
 * old one keeps its pods to switch back to.
 */
function switchedLayout(input: BlueGreenInput, draft: Draft) {
  const fresh = draft.status.canaryRevision as string;
  return {
    revisions: [
      { revision: fresh, role: 'active' as const, replicas: input.replicas },
      { revision: draft.status.stableRevision as string, role: 'previous' as const, replicas: input.replicas },
    ],
    traffic: { kind: 'blueGreen' as const, active: fresh },
    scaleTarget: fresh,
  };
}

/**
 * After the switch: the post-promotion analysis judges the new revision. Passed (or accepted):
 * undefined, the release completes. Failed: the Service switches back and the release is aborted.
 * Otherwise it waits, or pauses on an Inconclusive verdict.
 */
function planPostPromotion(
  input: BlueGreenInput,
  draft: Draft,
  layout: (pods: number) => ReturnType<typeof colours>,
): RolloutPlan | undefined {
  const status = draft.status;
  const fresh = status.canaryRevision as string;
  if (!switched(draft)) {
    status.currentStepIndex = 2;
    emit(
      draft,
      'Normal',
      EventReason.Switched,
      `${fresh} is active; ${status.stableRevision} keeps its pods until the post-promotion analysis passes`,
    );
  }
  if ((status.currentStepIndex ?? 0) >= 3) return undefined;
  const run = postPromotion(input, draft);
  switch (analysisState(run)) {
    case 'passed':
      return undefined;
    case 'failed':
      return planDegraded(input, draft, analysisFailure(run as ObservedAnalysisRun), layout, Reason.AnalysisFailed);
    case 'inconclusive': {
      const outcome = inconclusiveOutcome(run as ObservedAnalysisRun, `${fresh} active`);
      if (input.status.message !== outcome.message)
        emit(draft, 'Warning', EventReason.AnalysisInconclusive, outcome.message);
      return finish(input, draft, outcome, switchedLayout(input, draft));
    }
    default: {
      const message = `${fresh} is active; waiting for the post-promotion analysis ${run?.name ?? 'to start'}${run?.message ? ` (${run.message})` : ''}; ${status.stableRevision} kept to switch back`;
      return finish(
        input,
        draft,
        { phase: 'Progressing', reason: Reason.AnalysisRunning, message },
        switchedLayout(input, draft),
      );
    }
  }
}

function waiting(reason: string, preview: string, ready: number, target: number): Outcome {
  return { phase: 'Progressing', reason, message: `preview ${preview} has ${ready} of ${target} pods Ready` };
}
