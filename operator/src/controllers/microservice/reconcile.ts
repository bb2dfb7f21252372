// reconcileMicroService: gather → plan (pure) → apply (server-side) → syncStatus, once per key.
// Throws when a child could not be written, so that the work queue retries with backoff.
import type { MicroService } from '../../api/microservice.ts';
import { dedicatedDatabaseName } from '../../desired/dedicated-database.ts';
import { formatKubeTime } from '../../kube/canonical.ts';
import type { KubeClient } from '../../kube/client.ts';
import type { EventRecorder } from '../../kube/events.ts';
import type { KubeObject } from '../../kube/objects.ts';
import { syncStatus } from '../../kube/status.ts';
import type { Clock } from '../../runtime/clock.ts';
import type { Reconciler } from '../../runtime/controller.ts';
import { applyPlan } from './apply.ts';
import type { DatabaseStep } from './database.ts';
import { type GatherSources, gather } from './gather.ts';
import { plan, withApplyFailures } from './plan.ts';
import { microServiceType } from './resources.ts';
import { recordRelease } from './rollout-status.ts';
import type { WorkloadPlanner } from './workloads.ts';

export interface ReconcilerDeps extends GatherSources {
  client: KubeClient;
  recorder: EventRecorder;
  clock: Clock;
  workloads?: WorkloadPlanner;
  /** Provisions spec.database (and reclaims it on deletion); without it, databases are left alone. */
  database?: DatabaseStep;
}

export class ChildWriteError extends Error {
  constructor(failures: readonly string[]) {
    super(`could not write: ${failures.join('; ')}`);
    this.name = 'ChildWriteError';
  }
}

export function createMicroServiceReconciler(deps: ReconcilerDeps): Reconciler {
  const { client, recorder, clock, tracker } = deps;
  return async (key, { log }) => {
    const observed = await gather(key, deps);
    if (!observed) {
      if (deps.database) return deps.database.finalize(key, log);
      log.debug('gone or being deleted; its children are collected through their owner references');
      return;
    }
    const { ms } = observed;
    const now = formatKubeTime(new Date(clock.now()));
    const statefulSet = observed.children.find(
      (child) => child.kind === 'StatefulSet' && child.metadata.name === dedicatedDatabaseName(ms.metadata.name ?? ''),
    );
    const database =
      ms.spec.database && deps.database ? await deps.database.provision(ms, log, statefulSet) : undefined;
    const planned = plan({
      ...observed,
      now,
      ...(deps.workloads ? { workloads: deps.workloads } : {}),
      ...(database ? { database } : {}),
    });
    const outcome = await applyPlan({ client, tracker, log }, planned);
    const status = withApplyFailures(planned.status, outcome.failures, now);
    const written = await syncStatus<KubeObject>(client, microServiceType, ms, status);
    if (written) {
      tracker.wrote(written, microServiceType.kind);
      log.info({ status: summarize(status) }, 'status updated');
    }
    const events = [...planned.events, ...outcome.events];
    for (const event of events) {
      (event.type === 'Warning' ? log.warn : log.info).call(log, { reason: event.reason }, event.message);
    }
    await Promise.all(events.map((event) => recorder.record(microServiceType, ms, event)));
    if (outcome.failures.length > 0) throw new ChildWriteError(outcome.failures);
    const retry = database?.retryAfterMs;
    const released = planned.release ? await recordRelease({ client, recorder, tracker, log }, planned.release) : {};
    const after = [retry, released.requeueAfterMs].filter((delay) => delay !== undefined);
    return after.length > 0 ? { requeueAfterMs: Math.min(...after) } : undefined;
  };
}

function summarize(status: MicroService['status']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const condition of (status?.conditions ?? []) as { type: string; status: string; reason: string }[]) {
    out[condition.type] = `${condition.status} (${condition.reason})`;
  }
  return out;
}
