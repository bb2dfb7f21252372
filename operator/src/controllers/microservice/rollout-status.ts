// The Rollout's side of a reconcile. Before planning: the one-shot requests of the spec (promote,
// abort, retry) are accepted into status.acceptedRequest, then cleared from the spec with a
// resourceVersion precondition. After planning: the new status (one write, only when it changed),
// which shows what was done only once the request is gone from the spec, and the release's Events.
// So a request is never lost (it is in the status before it leaves the spec) nor done twice (it
// leaves the status when done), whenever the operator stops, and a person who sees the outcome
// and asks again makes a new request, not a no-op patch of one still pending.
import type { Logger } from 'pino';
import type { RolloutSpec, RolloutStatus } from '../../api/rollout.ts';
import { nextCondition } from '../../common/conditions.ts';
import type { KubeClient } from '../../kube/client.ts';
import { isConflict } from '../../kube/errors.ts';
import type { EventRecorder } from '../../kube/events.ts';
import type { KubeObject } from '../../kube/objects.ts';
import { syncStatus } from '../../kube/status.ts';
import { type AcceptedRequest, planIntake } from '../../release/requests.ts';
import type { ReleaseOutcome } from '../../release/workloads.ts';
import type { WriteTracker } from '../../runtime/write-tracker.ts';
import type { RequestName } from '../../strategy/index.ts';
import { syncAnalysisRuns } from '../analysis/runs.ts';
import { rolloutType } from './resources.ts';

export interface RolloutWriterDeps {
  client: KubeClient;
  recorder: EventRecorder;
  tracker: WriteTracker;
  log: Logger;
}

/**
 * Takes the spec's requests into the status. Returns the Rollout as it now is (the status carries
 * the accepted requests) and the spec fields to clear once the children are written.
 */
export async function acceptRequests(
  deps: RolloutWriterDeps,
  rollout: KubeObject,
): Promise<{ rollout: KubeObject; clear: RequestName[] }> {
  const { client, tracker, log } = deps;
  const spec = rollout.spec as RolloutSpec;
  const status = (rollout.status ?? {}) as RolloutStatus;
  const intake = planIntake(spec, status.acceptedRequest);
  if (!intake.accept) return { rollout, clear: intake.clear };
  const generation = rollout.metadata.generation;
  const acceptedRequest: AcceptedRequest = { ...intake.accept, ...(generation !== undefined ? { generation } : {}) };
  const written = await syncStatus<KubeObject>(client, rolloutType, rollout, { ...status, acceptedRequest });
  if (written) tracker.wrote(written, rolloutType.kind);
  log.info({ rollout: rollout.metadata.name, request: intake.accept }, 'request accepted');
  return { rollout: written ?? { ...rollout, status: { ...status, acceptedRequest } }, clear: intake.clear };
}

/**
 * Clears accepted requests from the spec, with a resourceVersion precondition: if the Rollout
 * changed since it was read, nothing is cleared now (the request is safe in the status) and the
 * next reconcile clears it. Returns whether it cleared.
 */
export async function clearRequests(
  deps: RolloutWriterDeps,
  rollout: KubeObject,
  fields: readonly RequestName[],
): Promise<boolean> {
  if (fields.length === 0) return true;
  const { name = '', namespace } = rollout.metadata;
  try {
    const cleared = await deps.client.mergePatch<KubeObject>(rolloutType, name, namespace, {
      metadata: { resourceVersion: rollout.metadata.resourceVersion },
      spec: Object.fromEntries(fields.map((field) => [field, null])),
    });
    deps.tracker.wrote(cleared, rolloutType.kind);
    return true;
  } catch (error) {
    if (isConflict(error)) return false;
    throw error;
  }
}

/** Writes the release's outcome to its Rollout; returns when to reconcile again, if sooner than a change. */
export async function recordRelease(
  deps: RolloutWriterDeps,
  release: ReleaseOutcome,
): Promise<{ requeueAfterMs?: number }> {
  const { client, recorder, tracker, log } = deps;
  const { rollout } = release;
  const name = rollout.metadata.name ?? '';
  if (release.analysis) await syncAnalysisRuns(client, rollout, release.analysis.wanted, release.analysis.runs);
  const written = await syncStatus<KubeObject>(client, rolloutType, rollout, release.status);
  if (written) {
    tracker.wrote(written, rolloutType.kind);
    log.info({ rollout: name, phase: release.status.phase, step: release.status.currentStepIndex }, 'rollout status');
  }
  for (const event of release.events) {
    (event.type === 'Warning' ? log.warn : log.info).call(log, { rollout: name, reason: event.reason }, event.message);
  }
  await Promise.all(release.events.map((event) => recorder.record(rolloutType, rollout, event)));
  return release.requeueAfterMs !== undefined ? { requeueAfterMs: release.requeueAfterMs } : {};
}

export const SERVICE_NOT_FOUND = 'ServiceNotFound';
/** Another Rollout (the oldest) already releases the service this one names. */
export const SERVICE_HAS_ANOTHER_ROLLOUT = 'ServiceHasAnotherRollout';

/** Why a Rollout releases nothing: a condition reason and its message. */
export interface IgnoredRollout {
  reason: typeof SERVICE_NOT_FOUND | typeof SERVICE_HAS_ANOTHER_ROLLOUT;
  message: string;
}

/** Its MicroService does not exist. */
export function serviceNotFound(rollout: KubeObject): IgnoredRollout {
  const namespace = rollout.metadata.namespace ?? '';
  const service = (rollout.spec as RolloutSpec | undefined)?.serviceRef?.name ?? '';
  return {
    reason: SERVICE_NOT_FOUND,
    message: `MicroService ${namespace}/${service} (spec.serviceRef) does not exist; nothing to release`,
  };
}

/** Another Rollout, `releasing`, already releases its MicroService. */
export function serviceHasAnotherRollout(rollout: KubeObject, releasing: string): IgnoredRollout {
  const namespace = rollout.metadata.namespace ?? '';
  const service = (rollout.spec as RolloutSpec | undefined)?.serviceRef?.name ?? '';
  return {
    reason: SERVICE_HAS_ANOTHER_ROLLOUT,
    message:
      `MicroService ${namespace}/${service} is released by Rollout ${releasing}, the oldest that names it; ` +
      'this one is ignored (delete one of them)',
  };
}

/**
 * The status of a Rollout that releases nothing: phase Degraded, Ready and Progressing False with
 * the reason, nothing paused or aborted. What it recorded of an earlier release is kept. Pure.
 */
export function ignoredRolloutStatus(rollout: KubeObject, why: IgnoredRollout, now: string): RolloutStatus {
  const status = (rollout.status ?? {}) as RolloutStatus;
  const { reason: ignored, message } = why;
  const generation = rollout.metadata.generation;
  const conditions = (
    [
      ['Ready', ignored],
      ['Progressing', ignored],
      ['Paused', 'NotPaused'],
      ['Aborted', 'NotAborted'],
    ] as const
  ).map(([type, reason]) =>
    nextCondition(status.conditions, { type, status: 'False', reason, message }, now, generation),
  );
  return {
    ...status,
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
    phase: 'Degraded',
    message,
    conditions,
  };
}

/** Says on `rollout` why it releases nothing, with a Warning Event when that is news. */
export async function recordIgnoredRollout(
  deps: RolloutWriterDeps,
  rollout: KubeObject,
  why: IgnoredRollout,
  now: string,
): Promise<void> {
  const { client, recorder, tracker, log } = deps;
  const status = ignoredRolloutStatus(rollout, why, now);
  const written = await syncStatus<KubeObject>(client, rolloutType, rollout, status);
  if (!written) return;
  tracker.wrote(written, rolloutType.kind);
  log.warn({ rollout: rollout.metadata.name, reason: why.reason }, why.message);
  await recorder.record(rolloutType, rollout, { type: 'Warning', reason: why.reason, message: why.message });
}
