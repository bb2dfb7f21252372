// The canary state machine: the new revision receives a growing share of traffic, step by step,
// while the stable revision keeps all its pods. One plan takes at most one step; the progress lives
// in the status (currentStepIndex, pauseStartTime), so a restarted operator resumes where it stopped.
//
// Traffic moves to the canary only as far as its Ready pods can carry it (computeCarriedWeight):
// a step first scales the canary, and its weight is written once the pods are Ready. A canary pod
// that stops being Ready takes its share back to stable at once; the health gate aborts the release
// if the pods are not all Ready again within progressDeadlineSeconds. status.canaryWeight is the
// weight actually sent.
import { parseDuration } from '../desired/duration.ts';
import {
  computeCanaryReplicas,
  computeCarriedWeight,
  computeReplicaShare,
  computeTimeLeft,
  computeWeights,
} from './compute.ts';
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
import type {
  CanaryInput,
  CanaryStep,
  ObservedAnalysisRun,
  PlannedRevision,
  RolloutPlan,
  TrafficPlan,
} from './types.ts';

/** The plan for a canary release: replicas per revision, weights, the next step, conditions, timers. */
export function planCanary(input: CanaryInput): RolloutPlan {
  const draft = startDraft(input, 'Canary');
  adopt(input, draft);
  followDesiredRevision(input, draft);
  const { stableRevision, canaryRevision } = draft.status;
  if (!canaryRevision) {
    return planSteady(input, draft, weighted(input, [{ revision: stableRevision as string, weight: 100 }]), 'stable');
  }
  if (input.requests.abort) abortByRequest(input, draft);
  else if (input.requests.retry) retry(input, draft);
  const layout = (canaryReplicas: number) => split(input, draft, canaryReplicas);
  if (draft.status.abortedRevision === canaryRevision) return planAborted(input, draft, layout);
  if (input.paused) {
    carry(input, draft, draft.status.canaryWeight ?? 0);
    const where = `at ${stepLabel(input, draft.status.currentStepIndex ?? 0)} with ${draft.status.canaryWeight ?? 0}% of traffic on ${canaryRevision}`;
    return planFrozen(input, draft, where, canaryTarget(input, draft), layout);
  }
  if (input.requests.promote) promote(input, draft);
  return planStep(input, draft);
}

function routingOf(input: CanaryInput) {
  return input.trafficRouting ?? (input.strategy.trafficRouting === 'auto' ? undefined : input.strategy.trafficRouting);
}

function weighted(input: CanaryInput, weights: { revision: string; weight: number }[]): TrafficPlan {
  return { kind: 'weighted', weights, approximatedByReplicas: routingOf(input) === 'replicas' };
}

function modeOf(input: CanaryInput): 'weighted' | 'replicas' {
  return routingOf(input) === 'replicas' ? 'replicas' : 'weighted';
}

/**
 * The weight the steps ask for at `index`: the last setWeight at or before it (a pause keeps the
 * weight before it; past the last step, the last setWeight until the canary takes all traffic).
 */
export function stepWeight(steps: CanaryStep[], index: number): number {
  for (let at = Math.min(index, steps.length - 1); at >= 0; at--) {
    const weight = steps[at]?.setWeight;
    if (weight !== undefined) return weight;
  }
  return 0;
}

/** Pods of the canary at the current step: its weight's share, or full size once the steps are done. */
function canaryTarget(input: CanaryInput, draft: Draft): number {
  const index = draft.status.currentStepIndex ?? 0;
  if (index >= input.strategy.steps.length) return input.replicas;
  return computeCanaryReplicas(stepWeight(input.strategy.steps, index), input.replicas, modeOf(input));
}

/** The canary's weight: `wanted`, or less when its Ready pods cannot carry that much. */
function carry(input: CanaryInput, draft: Draft, wanted: number): void {
  const ready = readyOf(input, draft.status.canaryRevision);
  draft.status.canaryWeight = Math.min(wanted, computeCarriedWeight(ready, input.replicas, modeOf(input)));
}

/** Stable at full size serving 100 − weight, the canary at `canaryReplicas` serving weight. */
function split(input: CanaryInput, draft: Draft, canaryReplicas: number) {
  const stable = draft.status.stableRevision as string;
  const canary = draft.status.canaryRevision as string;
  const revisions: PlannedRevision[] = [
    { revision: stable, role: 'stable', replicas: input.replicas },
    { revision: canary, role: 'canary', replicas: canaryReplicas },
  ];
  return {
    revisions,
    traffic: weighted(input, computeWeights(stable, canary, draft.status.canaryWeight ?? 0)),
    scaleTarget: stable,
  };
}

function describeStep(step: CanaryStep | undefined): string {
  if (step?.setWeight !== undefined) return `setWeight ${step.setWeight}`;
  if (step?.analysis) return 'analysis';
  if (step?.pause?.duration) return `pause ${step.pause.duration}`;
  return 'pause';
}

/** Whether the background analysis runs at step `index`: from startingStep until the last step is done. */
function backgroundAt(input: CanaryInput, index: number): boolean {
  const background = input.strategy.analysis;
  return background !== undefined && index >= (background.startingStep ?? 0) && index < input.strategy.steps.length;
}

/** The background analysis at the current step, if it runs there: wanted, and its run as observed. */
function background(input: CanaryInput, draft: Draft) {
  const index = draft.status.currentStepIndex ?? 0;
  const request = input.strategy.analysis;
  if (!request || !backgroundAt(input, index)) return undefined;
  return wantAnalysis(input, draft, 'Background', {
    templates: request.templates,
    ...(request.args ? { args: request.args } : {}),
  });
}

/** The analyses a full promotion skips: those of the steps from `index` on, and the background one. */
function skippedAnalyses(input: CanaryInput, index: number): number {
  const steps = input.strategy.steps.slice(index).filter((step) => step.analysis).length;
  return steps + (backgroundAt(input, index) ? 1 : 0);
}

function stepLabel(input: CanaryInput, index: number): string {
  return `step ${index + 1} of ${input.strategy.steps.length}`;
}

/** promote: step goes past the current step (a pause, usually); full skips all that remain. */
function promote(input: CanaryInput, draft: Draft): void {
  const status = draft.status;
  const steps = input.strategy.steps;
  const index = status.currentStepIndex ?? 0;
  if (input.requests.promote === 'full') {
    const skipped = skippedAnalyses(input, index);
    status.currentStepIndex = steps.length;
    status.pauseStartTime = undefined;
    let message = `promoted fully from ${stepLabel(input, index)}: ${status.canaryRevision} grows to ${input.replicas} pods, then takes all traffic`;
    if (skipped > 0) message += `; ${skipped} pending ${skipped === 1 ? 'analysis' : 'analyses'} skipped`;
    act(input, draft, 'PromoteFull', message);
    emit(draft, 'Normal', EventReason.Promoted, message);
    if (skipped > 0) emit(draft, 'Normal', EventReason.AnalysisSkipped, message);
    return;
  }
  if (index >= steps.length) {
    ignore(input, draft, 'PromoteStep', `${status.canaryRevision} is already past its last step`);
    return;
  }
  // Past an Inconclusive background analysis: it is accepted, and measured afresh from here.
  const backgroundRun = backgroundAt(input, index) ? background(input, draft) : undefined;
  const restartBackground = analysisState(backgroundRun) === 'inconclusive';
  if (restartBackground) status.attempt = (status.attempt ?? 0) + 1;
  draft.analysis = [];
  status.currentStepIndex = index + 1;
  status.pauseStartTime = undefined;
  let message = `promoted past ${stepLabel(input, index)} (${describeStep(steps[index])})`;
  if (restartBackground)
    message += `; the Inconclusive background analysis ${backgroundRun?.name} is accepted and starts afresh`;
  act(input, draft, 'PromoteStep', message);
  emit(draft, 'Normal', EventReason.Promoted, message);
}

/** The current step: set its weight, wait for the canary, pause, or (after the last) promote. */
function planStep(input: CanaryInput, draft: Draft): RolloutPlan {
  const status = draft.status;
  const steps = input.strategy.steps;
  const index = status.currentStepIndex ?? 0;
  const step = steps[index];
  const target = canaryTarget(input, draft);
  const canary = status.canaryRevision as string;
  const deadline = input.strategy.progressDeadlineSeconds ?? DEFAULT_PROGRESS_DEADLINE_SECONDS;
  const health = checkHealth(input, draft, canary, target, deadline);
  if (health.failed) return planDegraded(input, draft, health.message, (pods) => split(input, draft, pods));
  carry(input, draft, stepWeight(steps, index));
  if (!step) return planCompletion(input, draft, target);

  const layout = (pods: number) => split(input, draft, pods);
  const backgroundRun = background(input, draft);
  const backgroundState = analysisState(backgroundRun);
  if (backgroundRun && backgroundState === 'failed') {
    return planDegraded(input, draft, analysisFailure(backgroundRun), layout, Reason.AnalysisFailed);
  }
  if (backgroundRun && backgroundState === 'inconclusive') {
    return pausedInconclusive(input, draft, inconclusiveOutcome(backgroundRun, stepLabel(input, index)), target);
  }

  const ready = readyOf(input, canary) >= target;
  const kind = stepKind(step);
  switch (kind) {
    case 'setWeight':
      if (ready) advance(input, draft, `${stepLabel(input, index)} done: ${step.setWeight}% of traffic on ${canary}`);
      return finish(input, draft, progressing(input, draft), split(input, draft, target));
    case 'pause':
      // A pause holds only a canary that carries its weight: one that lost Ready pods waits for them.
      if (!ready) return finish(input, draft, progressing(input, draft), split(input, draft, target));
      return planPause(input, draft, step, target);
    case 'analysis':
      // Like a pause, an analysis judges only a canary that carries its weight.
      if (!ready) return finish(input, draft, progressing(input, draft), split(input, draft, target));
      return planStepAnalysis(input, draft, step, target);
    default:
      return unhandledStep(kind);
  }
}

/** At an analysis step: wait for its run; Successful goes on, Failed aborts, Inconclusive pauses. */
function planStepAnalysis(input: CanaryInput, draft: Draft, step: CanaryStep, target: number): RolloutPlan {
  const index = draft.status.currentStepIndex ?? 0;
  const run = wantAnalysis(input, draft, 'Step', step.analysis as NonNullable<CanaryStep['analysis']>, index);
  const layout = (pods: number) => split(input, draft, pods);
  switch (analysisState(run)) {
    case 'passed':
      advance(input, draft, `${stepLabel(input, index)} done: analysis ${run?.name} Successful`);
      return finish(input, draft, progressing(input, draft), layout(target));
    case 'failed':
      return planDegraded(input, draft, analysisFailure(run as ObservedAnalysisRun), layout, Reason.AnalysisFailed);
    case 'inconclusive':
      return pausedInconclusive(
        input,
        draft,
        inconclusiveOutcome(run as ObservedAnalysisRun, stepLabel(input, index)),
        target,
      );
    default: {
      const weight = draft.status.canaryWeight ?? 0;
      const message = `${stepLabel(input, index)}: analysis ${run?.name ?? 'starting'} of ${draft.status.canaryRevision} with ${weight}% of traffic${run?.message ? ` (${run.message})` : ''}`;
      return finish(input, draft, { phase: 'Progressing', reason: Reason.AnalysisRunning, message }, layout(target));
    }
  }
}

/** Paused on an Inconclusive analysis; the Event once, when the pause begins. */
function pausedInconclusive(input: CanaryInput, draft: Draft, outcome: Outcome, target: number): RolloutPlan {
  if (input.status.message !== outcome.message)
    emit(draft, 'Warning', EventReason.AnalysisInconclusive, outcome.message);
  return finish(input, draft, outcome, split(input, draft, target));
}

/** The kind of a step: the one field it sets (the API's CEL rule allows exactly one). */
type StepKind = keyof CanaryStep;

function stepKind(step: CanaryStep): StepKind {
  if (step.setWeight !== undefined) return 'setWeight';
  return step.analysis ? 'analysis' : 'pause';
}

/** A step kind added to the API and not handled above fails to compile here. */
function unhandledStep(kind: never): never {
  throw new Error(`unhandled canary step kind ${String(kind)}`);
}

/** At a pause: wait for spec.promote, or for the duration counted from when the pause began. */
function planPause(input: CanaryInput, draft: Draft, step: CanaryStep, target: number): RolloutPlan {
  const status = draft.status;
  const index = status.currentStepIndex ?? 0;
  const canary = status.canaryRevision as string;
  status.pauseStartTime ??= isoTime(input.now);
  const duration = step.pause?.duration;
  if (!duration) {
    const outcome: Outcome = {
      phase: 'Paused',
      reason: Reason.PausedAtStep,
      message: `paused at ${stepLabel(input, index)} with ${status.canaryWeight ?? 0}% of traffic on ${canary}, until spec.promote`,
    };
    return finish(input, draft, outcome, split(input, draft, target));
  }
  const left = computeTimeLeft(status.pauseStartTime, parseDuration(duration), input.now);
  if (left > 0) {
    requeue(draft, left);
    const outcome: Outcome = {
      phase: 'Paused',
      reason: Reason.PausedForDuration,
      message: `paused at ${stepLabel(input, index)} for ${duration}, until ${isoTime(input.now + left)}`,
    };
    return finish(input, draft, outcome, split(input, draft, target));
  }
  advance(input, draft, `${stepLabel(input, index)} done: paused ${duration}`);
  return finish(input, draft, progressing(input, draft), split(input, draft, target));
}

function advance(input: CanaryInput, draft: Draft, message: string): void {
  const next = (draft.status.currentStepIndex ?? 0) + 1;
  draft.status.currentStepIndex = next;
  // A pause starts the moment the step before it is done, not when the next plan gets to it.
  draft.status.pauseStartTime = input.strategy.steps[next]?.pause ? isoTime(input.now) : undefined;
  emit(draft, 'Normal', EventReason.StepCompleted, message);
  requeue(draft, 0);
}

/**
 * Waiting for the canary's pods: at a step, or growing to full size after the last. Until they are
 * Ready, it says what they are waited for: "waiting for 1 of 1 canary pods to be Ready before
 * sending 20% of traffic to b (0% now)".
 */
function progressing(input: CanaryInput, draft: Draft): Outcome {
  const { canaryRevision, canaryWeight = 0 } = draft.status;
  const index = draft.status.currentStepIndex ?? 0;
  const target = canaryTarget(input, draft);
  const ready = readyOf(input, canaryRevision);
  const atStep = index < input.strategy.steps.length;
  const reason = atStep ? Reason.WaitingForCanary : Reason.Promoting;
  const where = atStep ? stepLabel(input, index) : 'last step done, growing to full size';
  const wanted = atStep ? stepWeight(input.strategy.steps, index) : 100;
  let message =
    ready < target
      ? `${where}: waiting for ${target - ready} of ${target} canary pods to be Ready before sending ${wanted}% of traffic to ${canaryRevision} (${canaryWeight}% now)`
      : `${where}: ${canaryWeight}% of traffic on ${canaryRevision}, ${ready} of ${target} pods Ready`;
  if (routingOf(input) === 'replicas') {
    message += ` (no mesh: ${computeReplicaShare(target, input.replicas)}% by pod count)`;
  }
  return { phase: 'Progressing', reason, message };
}

/** After the last step: the canary grows to full size; once all Ready it takes all traffic. */
function planCompletion(input: CanaryInput, draft: Draft, target: number): RolloutPlan {
  if (readyOf(input, draft.status.canaryRevision) < target) {
    return finish(input, draft, progressing(input, draft), split(input, draft, target));
  }
  const delay = input.strategy.scaleDownDelaySeconds ?? DEFAULT_SCALE_DOWN_DELAY_SECONDS;
  const { promoted, previous, outcome } = completeRelease(input, draft, delay);
  return finish(input, draft, outcome, {
    revisions: [{ revision: promoted, role: 'stable', replicas: input.replicas }, ...previous],
    traffic: weighted(input, [{ revision: promoted, weight: 100 }]),
    scaleTarget: promoted,
  });
}
