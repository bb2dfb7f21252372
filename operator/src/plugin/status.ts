// `kubectl flotilla status`: when to stop waiting, and with which exit code. Pure: the Rollout and its
// MicroService in, a verdict out. A state only counts once the controller has seen the latest spec of
// both (observedGeneration) and holds no request it has not carried out, so a status read just after
// a change never ends the wait early; a pause that only a person can end is reported at once instead
// of waited out to the timeout (argo-rollouts #1225).
import type { MicroService } from '../api/microservice.ts';
import type { Rollout } from '../api/rollout.ts';
import { Reason } from '../strategy/conditions.ts';

export const EXIT = {
  /** The awaited state was reached. */
  reached: 0,
  /** Degraded or Aborted. */
  failed: 1,
  /** --timeout passed first. */
  timeout: 2,
  /** Stopped where only a person moves it on: a pause awaiting promotion (or the release done, when waiting for a pause). */
  held: 3,
  /** Wrong usage or an unreadable object. */
  usage: 4,
} as const;

export type Awaited = 'Healthy' | 'Paused';

export interface Verdict {
  /** undefined: keep waiting. */
  exitCode?: number;
  /** One line: phase, step, weight, message. */
  line: string;
}

const current = (object: { metadata: { generation?: number }; status?: { observedGeneration?: number } }) =>
  object.status?.observedGeneration !== undefined && object.status.observedGeneration === object.metadata.generation;

/** Pauses that only a person ends: a step without a duration, the user's hold, a blue-green preview without auto-promotion. */
const HELD_REASONS: readonly string[] = [Reason.PausedAtStep, Reason.PausedByUser, Reason.AwaitingPromotion];

function heldBy(rollout: Rollout): string | undefined {
  const paused = rollout.status?.conditions?.find((c) => c.type === 'Paused' && c.status === 'True');
  return paused?.reason !== undefined && HELD_REASONS.includes(paused.reason) ? paused.reason : undefined;
}

export function describeRollout(rollout: Rollout): string {
  const status = rollout.status ?? {};
  const steps = rollout.spec.strategy.canary?.steps;
  const parts = [status.phase ?? 'Unknown'];
  const moving = status.phase === 'Progressing' || status.phase === 'Paused';
  if (steps && status.currentStepIndex !== undefined && moving) {
    parts.push(`step ${Math.min(status.currentStepIndex + 1, steps.length)}/${steps.length}`);
  }
  if (status.canaryWeight !== undefined && status.canaryRevision) parts.push(`weight ${status.canaryWeight}%`);
  if (rollout.spec.paused) parts.push('held (spec.paused)');
  if (status.message) parts.push(`— ${status.message}`);
  return parts.join('  ');
}

function failureReason(rollout: Rollout): string {
  const conditions = rollout.status?.conditions ?? [];
  const aborted = conditions.find((c) => c.type === 'Aborted' && c.status === 'True');
  const ready = conditions.find((c) => c.type === 'Ready' && c.status === 'False');
  return aborted?.reason ?? ready?.reason ?? rollout.status?.phase ?? 'Degraded';
}

export function decideStatus(rollout: Rollout, microService: MicroService | undefined, until: Awaited): Verdict {
  const line = describeRollout(rollout);
  const pending = rollout.spec.promote !== undefined || rollout.spec.abort === true || rollout.spec.retry === true;
  const accepted = rollout.status?.acceptedRequest;
  const settled =
    current(rollout) && (microService === undefined || current(microService)) && !pending && accepted === undefined;
  if (!settled) return { line };
  const phase = rollout.status?.phase;
  if (phase === 'Degraded' || phase === 'Aborted') {
    return { exitCode: EXIT.failed, line: `${line}  (reason: ${failureReason(rollout)})` };
  }
  const serviceReady = microService?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
  if (until === 'Paused') {
    if (phase === 'Paused') return { exitCode: EXIT.reached, line };
    if (phase === 'Healthy' && serviceReady !== false) {
      return { exitCode: EXIT.held, line: `${line}  (released: there is no pause left to wait for)` };
    }
    return { line };
  }
  if (phase === 'Healthy' && (microService === undefined || serviceReady)) return { exitCode: EXIT.reached, line };
  const held = phase === 'Paused' ? heldBy(rollout) : undefined;
  if (held) {
    const why = held === Reason.PausedByUser ? 'held by spec.paused: resume it' : 'waiting for a promotion';
    return { exitCode: EXIT.held, line: `${line}  (${held}: ${why})` };
  }
  return { line };
}

/** A MicroService without a Rollout (a plain rolling update): Ready at its latest spec, or Degraded. */
export function decideServiceStatus(microService: MicroService): Verdict {
  const conditions = microService.status?.conditions ?? [];
  const ready = conditions.find((c) => c.type === 'Ready');
  const degraded = conditions.find((c) => c.type === 'Degraded' && c.status === 'True');
  const pods = `pods ${microService.status?.readyReplicas ?? 0}/${microService.status?.replicas ?? 0}`;
  const state = degraded ? 'Degraded' : ready?.status === 'True' ? 'Ready' : 'NotReady';
  const message = (degraded ?? ready)?.message;
  const line = `${state}  ${pods}${message ? `  — ${message}` : ''}`;
  if (!current(microService)) return { line };
  if (degraded) return { exitCode: EXIT.failed, line: `${line}  (reason: ${degraded.reason})` };
  if (ready?.status === 'True') return { exitCode: EXIT.reached, line };
  return { line };
}
