// The one-word actions, each exactly the JSON merge patch the README documents for plain kubectl, so
// that the plugin and kubectl never disagree. Pure: the patch, and how to tell the controller acted.
import type { MicroService } from '../api/microservice.ts';
import type { Rollout } from '../api/rollout.ts';
import { formatKubeTime } from '../common/canonical.ts';

export type RolloutAction = 'promote' | 'promote-full' | 'abort' | 'retry' | 'pause' | 'resume';

export function rolloutPatch(action: RolloutAction): { spec: Partial<Rollout['spec']> } {
  switch (action) {
    case 'promote':
      return { spec: { promote: 'step' } };
    case 'promote-full':
      return { spec: { promote: 'full' } };
    case 'abort':
      return { spec: { abort: true } };
    case 'retry':
      return { spec: { retry: true } };
    case 'pause':
      return { spec: { paused: true } };
    case 'resume':
      return { spec: { paused: false } };
  }
}

export function imagePatch(image: string): { spec: Pick<MicroService['spec'], 'image'> } {
  return { spec: { image } };
}

/** A restart: a new spec.restartedAt (whole seconds), so the pod template, and with it the revision, changes. */
export function restartPatch(now: Date): { spec: Pick<MicroService['spec'], 'restartedAt'> } {
  return { spec: { restartedAt: formatKubeTime(now) } };
}

/** The same patch as the kubectl command a person could have typed, for `--dry-run` and the README. */
export function kubectlEquivalent(kind: string, name: string, namespace: string, patch: object): string {
  return `kubectl patch ${kind} ${name} -n ${namespace} --type merge -p '${JSON.stringify(patch)}'`;
}

/**
 * Whether the controller has carried out the request sent with the patch that returned `sent`: a
 * one-shot request is done once it is cleared from the spec and no longer held in acceptedRequest;
 * pause and resume once the status has seen that generation.
 */
export function actedOn(action: RolloutAction, sent: Rollout, now: Rollout): boolean {
  const seen = (now.status?.observedGeneration ?? 0) >= (sent.metadata.generation ?? 0);
  if (action === 'pause' || action === 'resume') return seen;
  const { promote, abort, retry } = now.spec;
  const pending =
    promote !== undefined || abort === true || retry === true || now.status?.acceptedRequest !== undefined;
  return seen && !pending;
}

/** What to print once the controller acted: the lastAction it recorded (one-shot requests) and the phase. */
export function describeOutcome(action: RolloutAction, before: Rollout, after: Rollout): string {
  const phase = after.status?.phase ?? 'Unknown';
  const message = after.status?.message ? ` — ${after.status.message}` : '';
  if (action === 'pause' || action === 'resume') return `now ${phase}${message}`;
  const last = after.status?.lastAction;
  const previous = before.status?.lastAction;
  if (
    !last ||
    (last.time === previous?.time && last.action === previous?.action && last.message === previous?.message)
  ) {
    return `the controller cleared the request without acting on it (now ${phase}${message})`;
  }
  return `${last.action}: ${last.message ?? 'done'} (now ${phase})`;
}
