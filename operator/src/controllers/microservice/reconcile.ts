// reconcileMicroService: gather → plan (pure) → apply (server-side) → syncStatus, once per key.
// Throws when a child could not be written, so that the work queue retries with backoff.

import type { Logger } from 'pino';
import type { MicroService } from '../../api/microservice.ts';
import type { Clock } from '../../common/clock.ts';
import { dedicatedDatabaseName } from '../../desired/dedicated-database.ts';
import { formatKubeTime } from '../../kube/canonical.ts';
import type { KubeClient } from '../../kube/client.ts';
import { NamespaceTerminatingError } from '../../kube/errors.ts';
import type { EventRecord, EventRecorder } from '../../kube/events.ts';
import { hasFinalizer } from '../../kube/finalizers.ts';
import { type KubeObject, splitKey } from '../../kube/objects.ts';
import { syncStatus } from '../../kube/status.ts';
import type { Reconciler } from '../../runtime/controller.ts';
import type { ObjectCache } from '../../runtime/object-cache.ts';
import { applyPlan } from './apply.ts';
import { DatabaseStep } from './database.ts';
import { type GatherSources, gather, rolloutsOf } from './gather.ts';
import { plan, withApplyFailures } from './plan.ts';
import { CACHE_FINALIZER, type RedisCacheStep } from './redis-cache.ts';
import { microServiceType, rolloutType } from './resources.ts';
import {
  acceptRequests,
  clearRequests,
  recordIgnoredRollout,
  recordRelease,
  serviceHasAnotherRollout,
  serviceNotFound,
} from './rollout-status.ts';
import type { WorkloadPlanner } from './workloads.ts';

export interface ReconcilerDeps extends GatherSources {
  client: KubeClient;
  recorder: EventRecorder;
  clock: Clock;
  workloads?: WorkloadPlanner;
  /** Provisions spec.database (and reclaims it on deletion); without it, databases are left alone. */
  database?: DatabaseStep;
  /** Provisions spec.cache (and deletes its user on deletion or removal); without it, caches are left alone. */
  cacheStep?: RedisCacheStep;
  /** The Namespaces, when watched: a namespace being deleted gets no more writes. */
  namespaces?: ObjectCache;
}

export class ChildWriteError extends Error {
  constructor(failures: readonly string[]) {
    super(`could not write: ${failures.join('; ')}`);
    this.name = 'ChildWriteError';
  }
}

export function createMicroServiceReconciler(deps: ReconcilerDeps): Reconciler {
  const { client, recorder, clock, tracker } = deps;
  const saidTerminating = new Set<string>();
  /** Said once per namespace, at debug: deleting a namespace is no failure. */
  const leaveTerminating = (namespace: string, log: Logger) => {
    if (saidTerminating.has(namespace)) return undefined;
    if (saidTerminating.size > 1_000) saidTerminating.clear();
    saidTerminating.add(namespace);
    log.debug({ namespace }, 'namespace is being deleted; nothing more is written there');
    return undefined;
  };
  return async (key, { log }) => {
    const { namespace = '' } = splitKey(key);
    const terminating = isTerminating(deps.namespaces?.get(namespace));
    const observed = await gather(key, deps);
    // A service being deleted still releases what it holds outside Kubernetes (its finalizers).
    if (observed && terminating) return leaveTerminating(namespace, log);
    if (!observed) {
      if (!terminating) await reportIgnoredRollouts(deps, key, log);
      const cacheRetry = deps.cacheStep ? await releaseCache(deps, key, log) : undefined;
      const databaseResult = deps.database ? await deps.database.finalize(key, log) : undefined;
      if (!deps.database && !deps.cacheStep) {
        log.debug('gone or being deleted; its children are collected through their owner references');
      }
      const delays = [cacheRetry, databaseResult?.requeueAfterMs].filter((d) => d !== undefined);
      return delays.length > 0 ? { requeueAfterMs: Math.min(...delays) } : databaseResult;
    }
    const { ms } = observed;
    const nowMs = clock.now();
    const now = formatKubeTime(new Date(nowMs));
    const statefulSet = observed.children.find(
      (child) => child.kind === 'StatefulSet' && child.metadata.name === dedicatedDatabaseName(ms.metadata.name ?? ''),
    );
    const database =
      deps.database && DatabaseStep.handles(ms) ? await deps.database.provision(ms, log, statefulSet) : undefined;
    const cache = ms.spec.cache && deps.cacheStep ? await deps.cacheStep.provision(ms) : undefined;
    const cacheEvents: EventRecord[] = [];
    if (cache && cache.actions.length > 0) {
      const message = `${cache.condition.message} (${cache.actions.join(', ')})`;
      // AdoptUser: the ACL user existed without Flotilla's mark, and the server's spec.adoption let it be taken.
      const reason = cache.actions.includes('AdoptUser') ? 'CacheAdopted' : 'CacheProvisioned';
      cacheEvents.push({ type: 'Normal', reason, message });
    } else if (cache && cache.condition.status === 'False') {
      cacheEvents.push({
        type: 'Warning',
        reason: 'CacheFailed',
        message: `${cache.condition.reason}: ${cache.condition.message}`,
      });
    }
    if (!ms.spec.cache && deps.cacheStep && hasFinalizer(ms, CACHE_FINALIZER)) {
      // The cache was removed from the spec: its user and keys go.
      const released = await deps.cacheStep.release(ms, ms.status?.cache?.serverRef ?? '');
      cacheEvents.push({
        type: released.leftBehind ? 'Warning' : 'Normal',
        reason: released.leftBehind ? 'CacheLeftBehind' : 'CacheDeleted',
        message: released.message,
      });
    }
    // A request in the Rollout's spec is taken into its status before anything acts on it.
    const writer = { client, recorder, tracker, log };
    const intake = observed.rollout ? await acceptRequests(writer, observed.rollout) : undefined;
    const planned = plan({
      ...observed,
      rollout: intake?.rollout,
      now,
      nowMs,
      ...(deps.workloads ? { workloads: deps.workloads } : {}),
      ...(database ? { database } : {}),
      ...(cache ? { cache } : {}),
    });
    let outcome: Awaited<ReturnType<typeof applyPlan>>;
    try {
      outcome = await applyPlan({ client, tracker, log }, planned);
    } catch (error) {
      if (error instanceof NamespaceTerminatingError) return leaveTerminating(namespace, log);
      throw error;
    }
    // What the release did shows (in either status) only once the requests it carried out are gone
    // from the spec; if the Rollout changed meanwhile, its status waits for the next reconcile.
    const cleared =
      intake && outcome.failures.length === 0 ? await clearRequests(writer, intake.rollout, intake.clear) : true;
    const status = withApplyFailures(planned.status, outcome.failures, now);
    const events = [...cacheEvents, ...planned.events, ...outcome.events];
    for (const event of events) {
      (event.type === 'Warning' ? log.warn : log.info).call(log, { reason: event.reason }, event.message);
    }
    // The two statuses and the Events are independent of one another: written at once, a release
    // step costs one round trip after its children, not three.
    const recordingRelease: Promise<{ requeueAfterMs?: number }> =
      outcome.failures.length > 0
        ? Promise.resolve({})
        : !cleared
          ? Promise.resolve({ requeueAfterMs: 0 })
          : planned.release
            ? recordRelease(writer, planned.release)
            : Promise.resolve({});
    const [written, released] = await Promise.all([
      syncStatus<KubeObject>(client, microServiceType, ms, status),
      recordingRelease,
      reportIgnoredRollouts(deps, key, log),
      ...events.map((event) => recorder.record(microServiceType, ms, event)),
    ]);
    if (written) {
      tracker.wrote(written, microServiceType.kind);
      log.info({ status: summarize(status) }, 'status updated');
    }
    if (outcome.failures.length > 0) throw new ChildWriteError(outcome.failures);
    const retry = [database?.retryAfterMs, cache?.retry ? 5_000 : undefined]
      .filter((d) => d !== undefined)
      .reduce<number | undefined>((x, y) => (x === undefined ? y : Math.min(x, y)), undefined);
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

/** The MicroService at `key` is being deleted: deletes its cache user and keys; a delay when it must try again. */
async function releaseCache(deps: ReconcilerDeps, key: string, log: Logger): Promise<number | undefined> {
  const { namespace = '', name } = splitKey(key);
  const cached = deps.cache(microServiceType).get(key);
  const ms = (cached && deps.tracker.freshest(cached, microServiceType.kind, namespace, name)) as
    | MicroService
    | undefined;
  if (!ms?.metadata.deletionTimestamp || !hasFinalizer(ms, CACHE_FINALIZER) || !deps.cacheStep) return undefined;
  const released = await deps.cacheStep.release(ms, ms.spec.cache?.serverRef ?? ms.status?.cache?.serverRef ?? '');
  const event: EventRecord = {
    type: released.leftBehind || !released.done ? 'Warning' : 'Normal',
    reason: released.leftBehind ? 'CacheLeftBehind' : released.done ? 'CacheDeleted' : 'CacheDeleteFailed',
    message: released.message,
  };
  (event.type === 'Warning' ? log.warn : log.info).call(log, { reason: event.reason }, event.message);
  await deps.recorder.record(microServiceType, ms, event);
  return released.done ? undefined : 5_000;
}

/**
 * Rollouts that release nothing say why in their status: all that name the MicroService at `key`
 * when it does not exist, else all but the oldest.
 */
async function reportIgnoredRollouts(deps: ReconcilerDeps, key: string, log: Logger): Promise<void> {
  const { namespace = '', name } = splitKey(key);
  const named = rolloutsOf(deps.rolloutCache, namespace, name)
    .map((rollout) => deps.tracker.freshest(rollout, rolloutType.kind, namespace, rollout.metadata.name ?? ''))
    .filter((rollout): rollout is KubeObject => rollout !== undefined && !rollout.metadata.deletionTimestamp);
  const service = deps.cache(microServiceType).get(key);
  if (service?.metadata.deletionTimestamp) return;
  const [releasing, ...others] = named;
  const ignored = service ? others : named;
  if (ignored.length === 0) return;
  const now = formatKubeTime(new Date(deps.clock.now()));
  const writer = { client: deps.client, recorder: deps.recorder, tracker: deps.tracker, log };
  await Promise.all(
    ignored.map((rollout) =>
      recordIgnoredRollout(
        writer,
        rollout,
        service ? serviceHasAnotherRollout(rollout, releasing?.metadata.name ?? '') : serviceNotFound(rollout),
        now,
      ),
    ),
  );
}

/** Whether a Namespace (from the cache) is being deleted. */
function isTerminating(namespace: KubeObject | undefined): boolean {
  return (
    namespace?.metadata.deletionTimestamp !== undefined ||
    (namespace?.status as { phase?: string } | undefined)?.phase === 'Terminating'
  );
}
