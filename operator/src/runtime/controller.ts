// A controller wires the runtime together: one reflector and cache per watched kind → cache events
// mapped to keys of the primary kind → the work queue → reconcile(key). Workers start once every
// cache has synced; every key of the primary cache is re-queued periodically as a safety net.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { type Clock, systemClock } from '../common/clock.ts';
import { runAsReconcile } from '../common/reconcile-context.ts';
import type { KubeClient } from '../kube/client.ts';
import { type KubeObject, objectKey, type ResourceType } from '../kube/objects.ts';
import type { RuntimeMetrics } from './metrics.ts';
import { ObjectCache } from './object-cache.ts';
import { Reflector, type ReflectorOptions } from './reflector.ts';
import { type ReconcileResult, RetryLater, WorkQueue } from './work-queue.ts';

export interface ReconcileContext {
  /** Child logger bound to {kind, namespace, name, generation, reconcileId}. */
  log: Logger;
  /** The primary object as cached, or undefined when it no longer exists. */
  object: KubeObject | undefined;
}

export type Reconciler = (
  key: string,
  context: ReconcileContext,
) => Promise<ReconcileResult | undefined> | Promise<void>;

export interface WatchedKind {
  type: ResourceType;
  labelSelector?: string;
  /** Keys of primary objects to reconcile when an object of this kind changes. */
  keysFor: (object: KubeObject) => Iterable<string>;
  /** What the cache keeps of each object, when the reconcile reads only part of it (see ObjectCache). */
  project?: (object: KubeObject) => KubeObject;
  /** Its changes are reconciled before every change that is not urgent (see WorkQueue). */
  urgent?: boolean;
}

export interface ControllerOptions {
  client: KubeClient;
  primary: ResourceType;
  /** Other kinds whose changes re-queue primary keys (children, referenced objects). */
  secondary?: WatchedKind[];
  reconcile: Reconciler;
  /** All namespaces when undefined. */
  namespace?: string;
  concurrency?: number;
  /** Every primary key is re-queued this often (default 10 minutes; 0 for never). */
  resyncIntervalMs?: number;
  logger: Logger;
  metrics?: RuntimeMetrics;
  clock?: Clock;
  /** Overrides for every reflector (tests shorten the watch timeout). */
  reflector?: Pick<ReflectorOptions, 'watchTimeoutSeconds' | 'backoff' | 'pageSize' | 'random'>;
}

export interface KindHealth {
  kind: string;
  synced: boolean;
  lastEventAt: string | undefined;
  lastError: string | undefined;
}

/** A child's controller owner reference of `ownerKind`, as the owner's key. */
export function controllerOwnerKeys(ownerKind: string): (object: KubeObject) => string[] {
  return (object) =>
    (object.metadata.ownerReferences ?? [])
      .filter((owner) => owner.controller && owner.kind === ownerKind)
      .map((owner) => objectKey({ metadata: { name: owner.name, namespace: object.metadata.namespace } }));
}

export class Controller {
  readonly queue: WorkQueue;
  private readonly options: ControllerOptions;
  private readonly clock: Clock;
  private readonly caches = new Map<string, ObjectCache>();
  private readonly reflectors: Reflector[] = [];
  private cancelResync: (() => void) | undefined;
  private started = false;

  constructor(options: ControllerOptions) {
    this.options = options;
    this.clock = options.clock ?? systemClock;
    const { primary, metrics, logger } = options;
    const kind = primary.kind;
    this.queue = new WorkQueue({
      reconcile: (key) => this.reconcileOne(key),
      concurrency: options.concurrency,
      clock: this.clock,
      paused: true,
      // A key whose object is gone needs no retry: its deletion was an event of its own.
      onError: (key) => (this.cache(primary).get(key) ? 'retry' : 'forget'),
      observer: {
        started: (_key, waitMs) => {
          metrics?.queueWait.observe({ kind }, waitMs / 1000);
          metrics?.queueDepth.set({ kind }, this.queue.depth);
        },
        finished: (_key, durationMs, error) => {
          metrics?.reconcileDuration.observe({ kind }, durationMs / 1000);
          metrics?.reconciles.inc({ kind, result: error === undefined ? 'success' : 'error' });
          if (error !== undefined) metrics?.reconcileErrors.inc({ kind });
        },
        // A wait on something outside is said in the object's status and Events: one line, no stack.
        retrying: (key, failures, delayMs, error) =>
          error instanceof RetryLater
            ? logger.info({ kind, key, failures, delayMs, waitingFor: error.message }, 'reconcile waits; retrying')
            : logger.warn({ kind, key, failures, delayMs, err: error }, 'reconcile failed; retrying'),
      },
    });
    const watched: WatchedKind[] = [
      { type: primary, keysFor: (object) => [objectKey(object)] },
      ...(options.secondary ?? []),
    ];
    for (const watch of watched) this.watch(watch);
  }

  /** The cache of `type` (one of the watched kinds). */
  cache<T extends KubeObject = KubeObject>(type: ResourceType): ObjectCache<T> {
    const cache = this.caches.get(cacheName(type));
    if (!cache) throw new Error(`${type.kind} is not watched by this controller`);
    return cache as unknown as ObjectCache<T>;
  }

  /** Starts the reflectors; resolves once every cache has synced and the workers run. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    for (const reflector of this.reflectors) reflector.start();
    await Promise.all(this.reflectors.map((reflector) => reflector.waitForSync()));
    if (!this.started) return;
    this.queue.resume();
    this.scheduleResync();
  }

  /** Stops watching and taking work; resolves once in-flight reconciles have finished. */
  async stop(): Promise<void> {
    this.started = false;
    this.cancelResync?.();
    await Promise.all([this.queue.shutdown(), ...this.reflectors.map((reflector) => reflector.stop())]);
  }

  get synced(): boolean {
    return this.reflectors.every((reflector) => reflector.hasSynced);
  }

  health(): KindHealth[] {
    return this.reflectors.map((reflector) => ({
      kind: reflector.type.kind,
      synced: reflector.hasSynced,
      lastEventAt: reflector.lastEventAt === undefined ? undefined : new Date(reflector.lastEventAt).toISOString(),
      lastError: reflector.lastError === undefined ? undefined : String(reflector.lastError),
    }));
  }

  private watch({ type, labelSelector, keysFor, project, urgent = false }: WatchedKind): void {
    const { client, namespace, metrics, logger } = this.options;
    const name = cacheName(type);
    let cache = this.caches.get(name);
    if (!cache) {
      cache = new ObjectCache({
        onListenerError: (error) => logger.error({ err: error, kind: type.kind }, 'cache listener failed'),
        ...(project ? { project } : {}),
      });
      this.caches.set(name, cache);
      this.reflectors.push(
        new Reflector({
          client,
          type,
          cache,
          namespace,
          labelSelector,
          clock: this.clock,
          ...this.options.reflector,
          observer: {
            listed: (_type, objects, durationMs, initial) => {
              if (!initial) metrics?.relists.inc({ kind: type.kind });
              logger.info({ kind: type.kind, objects, durationMs, initial }, initial ? 'listed' : 'relisted');
            },
            watchEnded: (_type, how, error) => {
              metrics?.watchRestarts.inc({ kind: type.kind, how });
              if (how !== 'closed') logger.info({ kind: type.kind, how, err: error }, 'watch ended');
            },
            backingOff: (_type, delayMs, error) =>
              logger.warn({ kind: type.kind, delayMs, err: error }, 'list or watch failed; backing off'),
          },
        }),
      );
    }
    cache.subscribe((event) => {
      for (const key of keysFor(event.object)) this.queue.add(key, urgent);
      if (event.previous) for (const key of keysFor(event.previous)) this.queue.add(key, urgent);
      metrics?.queueDepth.set({ kind: this.options.primary.kind }, this.queue.depth);
    });
  }

  private scheduleResync(): void {
    const interval = this.options.resyncIntervalMs ?? 10 * 60_000;
    if (interval <= 0 || !this.started) return;
    this.cancelResync = this.clock.setTimer(() => {
      for (const key of this.cache(this.options.primary).keys()) this.queue.add(key);
      this.scheduleResync();
    }, interval);
  }

  private reconcileOne(key: string): Promise<ReconcileResult | undefined> | Promise<void> {
    const { primary, logger } = this.options;
    const object = this.cache(primary).get(key);
    const { namespace, name, generation } = object?.metadata ?? {};
    const reconcileId = randomUUID();
    const log = logger.child({ kind: primary.kind, namespace, name: name ?? key, generation, reconcileId });
    // The id also reaches what the reconcile causes beyond its logger (its Events).
    return runAsReconcile(reconcileId, () => this.options.reconcile(key, { log, object }));
  }
}

function cacheName(type: ResourceType): string {
  return `${type.plural}.${type.group}`;
}
