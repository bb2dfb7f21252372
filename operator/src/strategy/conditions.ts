// The Rollout's phase, and the four conditions derived from it, so that
// `kubectl wait --for=condition=Paused|Ready|Aborted` works. Reasons are CamelCase constants.
import { nextCondition } from '../common/conditions.ts';
import type { RolloutCondition, RolloutPhase } from './types.ts';

export const Reason = {
  /** The stable revision serves all traffic with every pod Ready; no release in progress. */
  Healthy: 'RolloutHealthy',
  /** The stable revision has fewer Ready pods than it should (first deployment, scale-up, crash). */
  StableNotReady: 'StableNotReady',
  /** The new revision is being scaled to the current step's size. */
  WaitingForCanary: 'WaitingForCanary',
  /** The last step is done: the canary grows to full size before it takes all traffic. */
  Promoting: 'Promoting',
  PausedAtStep: 'PausedAtStep',
  PausedForDuration: 'PausedForDuration',
  PausedByUser: 'PausedByUser',
  /** Blue-green: the preview is being scaled up. */
  WaitingForPreview: 'WaitingForPreview',
  /** Blue-green: the preview is Ready and waits for spec.promote. */
  AwaitingPromotion: 'AwaitingPromotion',
  /** Blue-green: the preview is Ready and will be promoted after autoPromotionSeconds. */
  AutoPromotionPending: 'AutoPromotionPending',
  RollingUpdate: 'RollingUpdate',
  /** Rolling: the aborted revision is being replaced by the stable one again. */
  RollingBack: 'RollingBack',
  AbortedByRequest: 'AbortedByRequest',
  ProgressDeadlineExceeded: 'ProgressDeadlineExceeded',
  /** An analysis the release waits on is measuring. */
  AnalysisRunning: 'AnalysisRunning',
  /** An analysis was Inconclusive: paused until promote (go on) or abort. */
  AnalysisInconclusive: 'AnalysisInconclusive',
  /** An analysis Failed (or erred past consecutiveErrorLimit): aborted, all traffic on stable. */
  AnalysisFailed: 'AnalysisFailed',
} as const;

/** Reasons of the events a plan emits. */
export const EventReason = {
  Adopted: 'Adopted',
  ReleaseStarted: 'ReleaseStarted',
  ReleaseRestarted: 'ReleaseRestarted',
  ReleaseCancelled: 'ReleaseCancelled',
  StepCompleted: 'StepCompleted',
  Promoted: 'Promoted',
  RolloutCompleted: 'RolloutCompleted',
  RolloutAborted: 'RolloutAborted',
  ProgressDeadlineExceeded: 'ProgressDeadlineExceeded',
  RetryStarted: 'RetryStarted',
  RequestIgnored: 'RequestIgnored',
  ScaledDown: 'ScaledDown',
  AnalysisFailed: 'AnalysisFailed',
  AnalysisInconclusive: 'AnalysisInconclusive',
  AnalysisSkipped: 'AnalysisSkipped',
  /** Blue-green with a post-promotion analysis: the Service switched, the old revision kept. */
  Switched: 'Switched',
} as const;

export interface Outcome {
  phase: RolloutPhase;
  reason: string;
  message: string;
}

/**
 * Ready (Healthy), Progressing (a release moves or waits), Paused, Aborted (Aborted or Degraded),
 * each carrying the outcome's reason when True; `lastTransitionTime` is kept from `previous` while
 * a condition's status does not flip.
 */
export function buildConditions(
  previous: RolloutCondition[] | undefined,
  outcome: Outcome,
  now: string,
  generation?: number,
): RolloutCondition[] {
  const { phase, reason, message } = outcome;
  const aborted = phase === 'Aborted' || phase === 'Degraded';
  const wanted: [string, boolean, string][] = [
    ['Ready', phase === 'Healthy', reason],
    ['Progressing', phase === 'Progressing' || phase === 'Paused', reason],
    ['Paused', phase === 'Paused', phase === 'Paused' ? reason : 'NotPaused'],
    ['Aborted', aborted, aborted ? reason : 'NotAborted'],
  ];
  return wanted.map(([type, isTrue, conditionReason]) =>
    nextCondition(
      previous,
      { type, status: isTrue ? 'True' : 'False', reason: conditionReason, message },
      now,
      generation,
    ),
  );
}
