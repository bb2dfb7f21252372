// Watches of kinds that may come and go with their CRDs (the route kinds of Istio and the Gateway
// API), started when the CRD is served and stopped when it goes: a controller's own watches are
// fixed at start, and a reflector of a kind that is not installed would never sync. Only objects
// matching the label selector are cached; each change goes to `onChange`, which should only
// enqueue (the MicroService controller re-queues the owner, so a hand-edited route is repaired
// like any other child).
import type { Logger } from 'pino';
import type { KubeClient } from '../kube/client.ts';
import type { ResourceType } from '../kube/objects.ts';
import type { ControllerOptions } from './controller.ts';
import { type CacheListener, ObjectCache } from './object-cache.ts';
import { Reflector } from './reflector.ts';

export interface DynamicWatchesOptions {
  client: KubeClient;
  namespace?: string;
  labelSelector: string;
  logger: Logger;
  reflector?: ControllerOptions['reflector'];
  /** Called for every change of a watched object (it should only enqueue). */
  onChange: (type: ResourceType) => CacheListener;
}

interface Watch {
  reflector: Reflector;
  cache: ObjectCache;
}

export class DynamicWatches {
  private readonly options: DynamicWatchesOptions;
  private readonly watches = new Map<string, Watch>();

  constructor(options: DynamicWatchesOptions) {
    this.options = options;
  }

  /** Starts or stops the watch of `type` to match whether its CRD is served. */
  ensure(type: ResourceType, served: boolean): void {
    const watch = this.watches.get(type.kind);
    if (served && !watch) this.start(type);
    if (!served && watch) {
      this.watches.delete(type.kind);
      this.options.logger.info({ kind: type.kind }, 'kind no longer served; watch stopped');
      void watch.reflector.stop();
    }
  }

  /** The cache of `type` once its first list is in, else undefined (read from the API instead). */
  syncedCache(type: ResourceType): ObjectCache | undefined {
    const watch = this.watches.get(type.kind);
    return watch?.reflector.hasSynced ? watch.cache : undefined;
  }

  async stop(): Promise<void> {
    const watches = [...this.watches.values()];
    this.watches.clear();
    await Promise.all(watches.map((watch) => watch.reflector.stop()));
  }

  private start(type: ResourceType): void {
    const { client, namespace, labelSelector, logger } = this.options;
    const cache = new ObjectCache({
      onListenerError: (error) => logger.error({ err: error, kind: type.kind }, 'cache listener failed'),
    });
    cache.subscribe(this.options.onChange(type));
    const reflector = new Reflector({
      client,
      type,
      cache,
      labelSelector,
      ...(namespace !== undefined ? { namespace } : {}),
      ...this.options.reflector,
      observer: {
        listed: (_type, objects, durationMs, initial) =>
          logger.info({ kind: type.kind, objects, durationMs, initial }, initial ? 'listed' : 'relisted'),
        backingOff: (_type, delayMs, error) =>
          logger.warn({ kind: type.kind, delayMs, err: error }, 'list or watch failed; backing off'),
      },
    });
    this.watches.set(type.kind, { reflector, cache });
    logger.info({ kind: type.kind }, 'kind served; watching it');
    reflector.start();
  }
}
