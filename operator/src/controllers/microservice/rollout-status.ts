// The Rollout's side of a reconcile: its status (one write, only when it changed), the Events of
// the release, and the one-shot request carried out cleared from the spec with a resourceVersion
// precondition, so that a request that arrives meanwhile is never lost.
import type { Logger } from 'pino';
import type { KubeClient } from '../../kube/client.ts';
import { isConflict } from '../../kube/errors.ts';
import type { EventRecorder } from '../../kube/events.ts';
import type { KubeObject } from '../../kube/objects.ts';
import { syncStatus } from '../../kube/status.ts';
import { rolloutType } from './resources.ts';
import type { WriteTracker } from './tracker.ts';
import type { ReleaseOutcome } from './workloads.ts';

export interface RolloutWriterDeps {
  client: KubeClient;
  recorder: EventRecorder;
  tracker: WriteTracker;
  log: Logger;
}

/**
 * Whether the request may be cleared from `current`: only while the field still holds the value
 * acted on. A different value is a new request, left for the next reconcile.
 */
export function canClear(current: KubeObject, clear: NonNullable<ReleaseOutcome['clear']>): boolean {
  const spec = (current.spec ?? {}) as Record<string, unknown>;
  return spec[clear.field] !== undefined && spec[clear.field] === clear.value;
}

/** Writes the release's outcome to its Rollout; returns when to reconcile again, if sooner than a change. */
export async function recordRelease(
  deps: RolloutWriterDeps,
  release: ReleaseOutcome,
): Promise<{ requeueAfterMs?: number }> {
  const { client, recorder, tracker, log } = deps;
  const { rollout } = release;
  const { name = '', namespace } = rollout.metadata;
  let current = rollout;
  const written = await syncStatus<KubeObject>(client, rolloutType, rollout, release.status);
  if (written) {
    tracker.wrote(written, rolloutType.kind);
    current = written;
    log.info({ rollout: name, phase: release.status.phase, step: release.status.currentStepIndex }, 'rollout status');
  }
  for (const event of release.events) {
    (event.type === 'Warning' ? log.warn : log.info).call(log, { rollout: name, reason: event.reason }, event.message);
  }
  await Promise.all(release.events.map((event) => recorder.record(rolloutType, rollout, event)));

  const requeue = release.requeueAfterMs !== undefined ? { requeueAfterMs: release.requeueAfterMs } : {};
  const { clear } = release;
  if (!clear) return requeue;
  if (!canClear(current, clear)) return { requeueAfterMs: 0 };
  try {
    const patched = await client.mergePatch<KubeObject>(rolloutType, name, namespace, {
      metadata: { resourceVersion: current.metadata.resourceVersion },
      spec: { [clear.field]: null },
    });
    tracker.wrote(patched, rolloutType.kind);
    log.info({ rollout: name, request: clear.field }, 'request carried out and cleared');
    return requeue;
  } catch (error) {
    // The Rollout changed since it was read: look again at once, with the newest spec.
    if (isConflict(error)) return { requeueAfterMs: 0 };
    throw error;
  }
}
