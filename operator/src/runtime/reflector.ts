// A reflector keeps one ObjectCache equal to one kind in the API server: a paginated LIST, then a
// WATCH from its resourceVersion, with a server-side timeout of 5-10 minutes (jittered) and
// bookmarks. A clean close reconnects at once from the last resourceVersion; an error backs off
// (800 ms doubling to 30 s, jittered) and retries; 410 Gone or "too large resource version" relists.
// The loop never ends by itself but on stop(): a failed list — even a 404 because the kind's CRD is
// not installed yet — is retried until it works (KUBERNETES-CLIENT.md rows 1-3).

import { type Clock, sleep, systemClock } from '../common/clock.ts';
import type { KubeClient } from '../kube/client.ts';
import { classifyError } from '../kube/errors.ts';
import type { KubeObject, ResourceType } from '../kube/objects.ts';
import { type BackoffPolicy, computeBackoffDelay, watchBackoff } from './backoff.ts';
import type { ObjectCache } from './object-cache.ts';

export interface ReflectorObserver {
  /** A full list went into the cache; `initial` is false for a relist. */
  listed?(type: ResourceType, objects: number, durationMs: number, initial: boolean): void;
  watchOpened?(type: ResourceType, resourceVersion: string): void;
  /** A watch ended: 'closed' (by the server, cleanly), 'gone' (relist follows) or 'error'. */
  watchEnded?(type: ResourceType, how: 'closed' | 'gone' | 'error', error?: unknown): void;
  /** The next attempt waits `delayMs` after `error`. */
  backingOff?(type: ResourceType, delayMs: number, error: unknown): void;
}

export interface ReflectorOptions {
  client: KubeClient;
  type: ResourceType;
  cache: ObjectCache;
  /** All namespaces when undefined. */
  namespace?: string;
  labelSelector?: string;
  pageSize?: number;
  /** The range the server-side watch timeout is drawn from, in seconds. */
  watchTimeoutSeconds?: { min: number; max: number };
  backoff?: BackoffPolicy;
  clock?: Clock;
  random?: () => number;
  observer?: ReflectorObserver;
}

/** A watch that ends this soon with no event counts as a failure, so that a flapping server is not hammered. */
const SHORTEST_HEALTHY_WATCH_MS = 1_000;

export class Reflector {
  readonly type: ResourceType;
  private readonly options: ReflectorOptions;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly abort = new AbortController();
  private running: Promise<void> | undefined;
  private synced = false;
  private syncWaiters: Array<() => void> = [];
  private lastEvent: number | undefined;
  private lastFailure: unknown;
  private relistCount = 0;

  constructor(options: ReflectorOptions) {
    this.options = options;
    this.type = options.type;
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
  }

  start(): void {
    this.running ??= this.run();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.running;
  }

  /** Whether the cache has been filled by a list at least once. */
  get hasSynced(): boolean {
    return this.synced;
  }

  /** When the last list or watch event arrived (ms since the epoch). */
  get lastEventAt(): number | undefined {
    return this.lastEvent;
  }

  /** The error of the last failed attempt, cleared by the next list or event. */
  get lastError(): unknown {
    return this.lastFailure;
  }

  /** Lists after the first one (after 410 Gone or a too-new resourceVersion). */
  get relists(): number {
    return this.relistCount;
  }

  /** Resolves once the cache has synced, or when stopped. */
  waitForSync(): Promise<void> {
    if (this.synced || this.abort.signal.aborted) return Promise.resolve();
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  private async run(): Promise<void> {
    const { signal } = this.abort;
    let resourceVersion: string | undefined;
    // Failures in a row; reset by a watch event or a watch that stayed open (not by a list alone,
    // so that a server answering every fresh list's watch with 410 is not hammered).
    let failures = 0;
    let eventSinceList = false;
    while (!signal.aborted) {
      try {
        if (resourceVersion === undefined) {
          resourceVersion = await this.list();
          eventSinceList = false;
        }
        const outcome = await this.watch(resourceVersion, (rv) => {
          resourceVersion = rv;
          failures = 0;
          eventSinceList = true;
        });
        this.options.observer?.watchEnded?.(this.type, 'closed');
        if (outcome.healthy) failures = 0;
        else {
          failures++;
          await this.backOff(failures, new Error('the watch closed at once without an event'));
        }
      } catch (error) {
        if (signal.aborted) break;
        this.lastFailure = error;
        if (classifyError(error) === 'gone') {
          this.options.observer?.watchEnded?.(this.type, 'gone', error);
          const relistedInVain = resourceVersion !== undefined && !eventSinceList;
          resourceVersion = undefined;
          if (relistedInVain) {
            failures++;
            await this.backOff(failures, error);
          }
          continue;
        }
        this.options.observer?.watchEnded?.(this.type, 'error', error);
        failures++;
        await this.backOff(failures, error);
      }
    }
    for (const resolve of this.syncWaiters.splice(0)) resolve();
  }

  private async backOff(failures: number, error: unknown): Promise<void> {
    const delay = computeBackoffDelay(this.options.backoff ?? watchBackoff, failures, this.random);
    this.options.observer?.backingOff?.(this.type, delay, error);
    await sleep(this.clock, delay, this.abort.signal);
  }

  private async list(): Promise<string> {
    const { client, type, cache, namespace, labelSelector, pageSize = 500 } = this.options;
    const started = this.clock.now();
    const { items, resourceVersion } = await client.list(type, {
      namespace,
      labelSelector,
      limit: pageSize,
      signal: this.abort.signal,
    });
    cache.replace(items);
    const initial = !this.synced;
    if (!initial) this.relistCount++;
    this.lastEvent = this.clock.now();
    this.lastFailure = undefined;
    this.options.observer?.listed?.(type, items.length, this.clock.now() - started, initial);
    if (initial) {
      this.synced = true;
      for (const resolve of this.syncWaiters.splice(0)) resolve();
    }
    return resourceVersion;
  }

  private async watch(resourceVersion: string, advance: (rv: string) => void): Promise<{ healthy: boolean }> {
    const { client, type, cache, namespace, labelSelector } = this.options;
    const { min, max } = this.options.watchTimeoutSeconds ?? { min: 300, max: 600 };
    const timeoutSeconds = Math.floor(min + (max - min) * this.random());
    const opened = this.clock.now();
    const events = await client.watch(type, {
      namespace,
      labelSelector,
      resourceVersion,
      timeoutSeconds,
      allowWatchBookmarks: true,
      signal: this.abort.signal,
    });
    this.options.observer?.watchOpened?.(type, resourceVersion);
    let received = 0;
    for await (const event of events) {
      received++;
      this.lastEvent = this.clock.now();
      this.lastFailure = undefined;
      const object = event.object as KubeObject;
      if (event.type === 'DELETED') cache.remove(object);
      else if (event.type !== 'BOOKMARK') cache.upsert(object);
      const rv = object.metadata?.resourceVersion;
      if (rv) advance(rv);
    }
    return { healthy: received > 0 || this.clock.now() - opened >= SHORTEST_HEALTHY_WATCH_MS };
  }
}
