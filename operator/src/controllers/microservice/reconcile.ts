// reconcileMicroService: gather → provision → plan (pure) → apply (server-side) → syncStatus, once
// per key. Throws when a child could not be written or a provisioner's failure may pass, so that the
// work queue retries with its backoff (the one retry policy).

import type { Logger } from 'pino';
import type { MicroService } from '../../api/microservice.ts';
import type { Clock } from '../../common/clock.ts';
import { formatKubeTime } from '../../kube/canonical.ts';
import type { KubeClient } from '../../kube/client.ts';
import { NamespaceTerminatingError } from '../../kube/errors.ts';
import type { EventRecord, EventRecorder } from '../../kube/events.ts';
import { type KubeObject, splitKey } from '../../kube/objects.ts';
import { syncStatus } from '../../kube/status.ts';
import type { ProvisionContext, Provisioner } from '../../provisioning/index.ts';
import type { WorkloadPlanner } from '../../release/workloads.ts';
import type { Reconciler } from '../../runtime/controller.ts';
import type { ObjectCache } from '../../runtime/object-cache.ts';
import { RetryLater } from '../../runtime/work-queue.ts';
import { applyPlan } from './apply.ts';
import { type GatherSources, gather, rolloutsOf } from './gather.ts';
import { type ProvisionedInput, plan, withApplyFailures } from './plan.ts';
import { microServiceType, rolloutType } from './resources.ts';
import {
  acceptRequests,
  clearRequests,
  recordIgnoredRollout,
  recordRelease,
  serviceHasAnotherRollout,
  serviceNotFound,
} from './rollout-status.ts';

export interface ReconcilerDeps extends GatherSources {
  client: KubeClient;
  recorder: EventRecorder;
  clock: Clock;
  workloads?: WorkloadPlanner;
  /** What services get outside Kubernetes (provisioning/registry.ts); none: databases and caches are left alone. */
  provisioners?: readonly Provisioner[];
  /** The Namespaces, when watched: a namespace being deleted gets no more writes. */
  namespaces?: ObjectCache;
}

export class ChildWriteError extends Error {
  constructor(failures: readonly string[]) {
    super(`could not write: ${failures.join('; ')}`);
    this.name = 'ChildWriteError';
  }
}

/** A provisioner failed in a way that may pass (its condition and Events say why): retried with backoff. */
export class ProvisioningRetry extends RetryLater {
  constructor(what: readonly string[], retryNotAfterMs?: number) {
    super(`waiting for ${what.join(', ')}`, retryNotAfterMs);
    this.name = 'ProvisioningRetry';
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
      if (!deps.provisioners) {
        log.debug('gone or being deleted; its children are collected through their owner references');
        return undefined;
      }
      return releaseAll(deps, key, log);
    }
    const { ms } = observed;
    const nowMs = clock.now();
    const now = formatKubeTime(new Date(nowMs));
    const provisioning = await provisionAll(deps, key, observed.ms, { log, children: observed.children });
    // A request in the Rollout's spec is taken into its status before anything acts on it.
    const writer = { client, recorder, tracker, log };
    const intake = observed.rollout ? await acceptRequests(writer, observed.rollout) : undefined;
    const planned = plan({
      ...observed,
      rollout: intake?.rollout,
      now,
      nowMs,
      ...(deps.workloads ? { workloads: deps.workloads } : {}),
      provisioned: provisioning.provisioned,
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
    const events = [...provisioning.events, ...planned.events, ...outcome.events];
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
    if (provisioning.retry) throw provisioning.retry;
    return released;
  };
}

interface Provisioning {
  provisioned: ProvisionedInput[];
  events: EventRecord[];
  retry: ProvisioningRetry | undefined;
}

/**
 * Every provisioner the service asks for, one after another (each sees the service as the one before
 * left it: a finalizer added); and, for what it no longer asks for, the release.
 */
async function provisionAll(
  deps: ReconcilerDeps,
  key: string,
  service: MicroService,
  context: ProvisionContext,
): Promise<Provisioning> {
  const services = deps.tracker.fresh(deps.cache<MicroService>(microServiceType), microServiceType.kind);
  const result: Provisioning = { provisioned: [], events: [], retry: undefined };
  const waiting: string[] = [];
  let notAfterMs: number | undefined;
  let ms = service;
  for (const provisioner of deps.provisioners ?? []) {
    if (provisioner.wants(ms)) {
      const found = await provisioner.provision(ms, context);
      result.provisioned.push(found);
      result.events.push(...found.events);
      if (found.retry) waiting.push(`${found.condition.type} (${found.condition.reason})`);
    } else if (provisioner.mustRelease(ms)) {
      const released = await provisioner.release(ms, context);
      result.events.push(...released.events);
      if (released.done) result.provisioned.push({ field: provisioner.field, released: true });
      else {
        waiting.push(`the release of ${provisioner.field}`);
        notAfterMs = Math.min(
          notAfterMs ?? Number.POSITIVE_INFINITY,
          released.retryNotAfterMs ?? Number.POSITIVE_INFINITY,
        );
      }
    } else continue;
    ms = services.get(key) ?? ms;
  }
  if (waiting.length > 0) {
    result.retry = new ProvisioningRetry(waiting, Number.isFinite(notAfterMs) ? notAfterMs : undefined);
  }
  return result;
}

/** The service at `key` is gone or being deleted: what it holds outside Kubernetes is released. */
async function releaseAll(deps: ReconcilerDeps, key: string, log: Logger): Promise<undefined> {
  const services = deps.tracker.fresh(deps.cache<MicroService>(microServiceType), microServiceType.kind);
  let ms = services.get(key);
  if (!ms) {
    for (const provisioner of deps.provisioners ?? []) provisioner.forget?.(key);
    return undefined;
  }
  const waiting: string[] = [];
  let notAfterMs = Number.POSITIVE_INFINITY;
  for (const provisioner of deps.provisioners ?? []) {
    if (!ms.metadata.deletionTimestamp || !provisioner.mustRelease(ms)) continue;
    const released = await provisioner.release(ms, { log, children: [] });
    for (const event of released.events) {
      (event.type === 'Warning' ? log.warn : log.info).call(log, { reason: event.reason }, event.message);
    }
    await Promise.all(
      released.events.map((event) => deps.recorder.record(microServiceType, ms as MicroService, event)),
    );
    if (!released.done) {
      waiting.push(`the release of ${provisioner.field}`);
      notAfterMs = Math.min(notAfterMs, released.retryNotAfterMs ?? Number.POSITIVE_INFINITY);
    }
    ms = services.get(key) ?? ms;
  }
  if (waiting.length > 0) throw new ProvisioningRetry(waiting, Number.isFinite(notAfterMs) ? notAfterMs : undefined);
  return undefined;
}

function summarize(status: MicroService['status']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const condition of (status?.conditions ?? []) as { type: string; status: string; reason: string }[]) {
    out[condition.type] = `${condition.status} (${condition.reason})`;
  }
  return out;
}

/**
 * Rollouts that release nothing say why in their status: all that name the MicroService at `key`
 * when it does not exist, else all but the oldest.
 */
async function reportIgnoredRollouts(deps: ReconcilerDeps, key: string, log: Logger): Promise<void> {
  const { namespace = '', name } = splitKey(key);
  const named = rolloutsOf(deps.tracker.fresh(deps.rolloutCache, rolloutType.kind), namespace, name).filter(
    (rollout) => !rollout.metadata.deletionTimestamp,
  );
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
