// The work queue: keyed and deduplicated (a key added many times while it waits runs once), never
// the same key in two workers at once (a key added while it runs runs once more afterwards),
// bounded concurrency, per-key exponential backoff reset on success, and `requeueAfter`. A key
// added from a cache listener starts in a microtask, never inside the caller's stack: the other
// listeners of that same change (the write tracker) have run by the time the reconcile reads.
// An urgent key (an analysis that failed, a person's abort) runs before every key that is not.

import { type Clock, systemClock } from '../common/clock.ts';
import { type BackoffPolicy, computeBackoffDelay, itemBackoff } from './backoff.ts';

export interface ReconcileResult {
  /** Run this key again after this many milliseconds (a level-based poll, not an error). */
  requeueAfterMs?: number;
}

export type ReconcileFunction = (key: string) => Promise<ReconcileResult | undefined> | Promise<void>;

/** What to do with a key whose reconcile threw: retry with backoff, or forget it (e.g. the object is gone). */
export type ErrorDecision = 'retry' | 'forget';

/**
 * A reconcile that waits on something outside (a database server down, a broker that does not answer) and
 * has said why where users look (a condition, an Event): retried with the queue's backoff, bounded by
 * `retryNotAfterMs` when something must happen at a fixed time. Not a failure of the operator's own.
 */
export class RetryLater extends Error {
  readonly retryNotAfterMs: number | undefined;
  constructor(message: string, retryNotAfterMs?: number) {
    super(message);
    this.name = 'RetryLater';
    this.retryNotAfterMs = retryNotAfterMs;
  }
}

export interface WorkQueueObserver {
  /** A key started; it waited `waitMs` in the queue. */
  started?(key: string, waitMs: number): void;
  /** A key finished; `error` is set when the reconcile threw. */
  finished?(key: string, durationMs: number, error: unknown): void;
  /** A failing key will run again after `delayMs` (its `failures`-th failure in a row). */
  retrying?(key: string, failures: number, delayMs: number, error: unknown): void;
}

export interface WorkQueueOptions {
  reconcile: ReconcileFunction;
  /** Keys reconciled at the same time, at most. */
  concurrency?: number;
  backoff?: BackoffPolicy;
  clock?: Clock;
  onError?: (key: string, error: unknown) => ErrorDecision;
  observer?: WorkQueueObserver;
  /** Queue keys but run none until resume() (a controller waits for its caches to sync). */
  paused?: boolean;
}

export class WorkQueue {
  private readonly reconcile: ReconcileFunction;
  private readonly concurrency: number;
  private readonly backoff: BackoffPolicy;
  private readonly clock: Clock;
  private readonly onError: (key: string, error: unknown) => ErrorDecision;
  private readonly observer: WorkQueueObserver;

  /** Keys ready to run, in order; each is also in `waiting`. Urgent ones run first. */
  private readonly ready: string[] = [];
  private readonly readyUrgent: string[] = [];
  /** Waiting keys added as urgent since they last started. */
  private readonly urgent = new Set<string>();
  /** Keys that must run (again): ready, or added while running. Value: when it was added. */
  private readonly waiting = new Map<string, number>();
  private readonly running = new Set<string>();
  private readonly failures = new Map<string, number>();
  /** Delayed adds: the earliest pending one per key. */
  private readonly delayed = new Map<string, { at: number; cancel: () => void }>();
  private readonly inFlight = new Set<Promise<void>>();
  private stopping = false;
  private paused: boolean;
  private pumpScheduled = false;

  constructor(options: WorkQueueOptions) {
    this.reconcile = options.reconcile;
    this.concurrency = Math.max(1, options.concurrency ?? 1);
    this.backoff = options.backoff ?? itemBackoff;
    this.clock = options.clock ?? systemClock;
    this.onError = options.onError ?? (() => 'retry');
    this.observer = options.observer ?? {};
    this.paused = options.paused ?? false;
  }

  /** Starts running keys (after `paused: true`). */
  resume(): void {
    this.paused = false;
    this.pump();
  }

  /**
   * Queues `key` now. A key already waiting is not queued twice; added as `urgent`, it moves ahead of
   * every key that is not.
   */
  add(key: string, urgent = false): void {
    if (this.stopping) return;
    if (this.waiting.has(key)) {
      if (!urgent || this.urgent.has(key)) return;
      this.urgent.add(key);
      const at = this.ready.indexOf(key);
      if (at >= 0) {
        this.ready.splice(at, 1);
        this.readyUrgent.push(key);
      }
      return;
    }
    this.waiting.set(key, this.clock.now());
    if (urgent) this.urgent.add(key);
    if (!this.running.has(key)) {
      (urgent ? this.readyUrgent : this.ready).push(key);
      this.schedulePump();
    }
  }

  /** Queues `key` after `ms`; of several delayed adds of one key, the earliest wins. */
  addAfter(key: string, ms: number): void {
    if (this.stopping) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const at = this.clock.now() + ms;
    const pending = this.delayed.get(key);
    if (pending && pending.at <= at) return;
    pending?.cancel();
    const cancel = this.clock.setTimer(() => {
      this.delayed.delete(key);
      this.add(key);
    }, ms);
    this.delayed.set(key, { at, cancel });
  }

  /** Keys waiting to run (not counting delayed ones). */
  get depth(): number {
    return this.ready.length + this.readyUrgent.length;
  }

  get active(): number {
    return this.running.size;
  }

  /** Failures in a row of `key` (0 once it succeeds). */
  failuresOf(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** Stops taking work: cancels delayed adds, drops waiting keys, and resolves once in-flight reconciles end. */
  async shutdown(): Promise<void> {
    this.stopping = true;
    for (const { cancel } of this.delayed.values()) cancel();
    this.delayed.clear();
    this.ready.length = 0;
    this.readyUrgent.length = 0;
    this.urgent.clear();
    this.waiting.clear();
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    queueMicrotask(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    while (!this.stopping && !this.paused && this.running.size < this.concurrency && this.depth > 0) {
      const key = (this.readyUrgent.shift() ?? this.ready.shift()) as string;
      this.urgent.delete(key);
      const addedAt = this.waiting.get(key) ?? this.clock.now();
      this.waiting.delete(key);
      this.running.add(key);
      const run = this.runOne(key, addedAt);
      this.inFlight.add(run);
      void run.finally(() => this.inFlight.delete(run));
    }
  }

  private async runOne(key: string, addedAt: number): Promise<void> {
    const startedAt = this.clock.now();
    this.observer.started?.(key, startedAt - addedAt);
    let result: ReconcileResult | undefined;
    let failure: unknown;
    let failed = false;
    try {
      result = (await this.reconcile(key)) ?? undefined;
    } catch (error) {
      failed = true;
      failure = error;
    }
    this.observer.finished?.(key, this.clock.now() - startedAt, failed ? failure : undefined);
    this.running.delete(key);
    if (failed) this.retryLater(key, failure);
    else {
      this.failures.delete(key);
      if (result?.requeueAfterMs !== undefined) this.addAfter(key, result.requeueAfterMs);
    }
    if (this.waiting.has(key)) (this.urgent.has(key) ? this.readyUrgent : this.ready).push(key);
    this.pump();
  }

  private retryLater(key: string, error: unknown): void {
    if (this.onError(key, error) === 'forget') {
      this.failures.delete(key);
      return;
    }
    const failures = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, failures);
    const bound = error instanceof RetryLater ? error.retryNotAfterMs : undefined;
    const backoff = computeBackoffDelay(this.backoff, failures);
    const delay = bound === undefined ? backoff : Math.min(backoff, bound);
    this.observer.retrying?.(key, failures, delay, error);
    this.addAfter(key, delay);
  }
}
