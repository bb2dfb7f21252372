// Leader election on a coordination.k8s.io/v1 Lease (lease 15 s, renew deadline 10 s, retry 2 s by
// default). While leading, the Lease is renewed every retry period; writes are allowed only while
// the last renewal succeeded and is younger than the renew deadline — the first failed renewal
// stops them, and the deadline ends leadership, well before another candidate may take the Lease
// (it waits a whole lease duration from when it last saw the record change). stop() gives the
// Lease up so that the next candidate takes it at its next try.

import { type Clock, sleep, systemClock } from '../common/clock.ts';
import type { KubeClient } from '../kube/client.ts';
import { classifyError } from '../kube/errors.ts';
import { type KubeObject, leaseType } from '../kube/objects.ts';
import { decideLease, type LeaseSpec, type ObservedLease, releasedLease } from './lease-decision.ts';

export interface LeaderElectionOptions {
  /** A client without a write guard: the elector's own writes must not be fenced. */
  client: KubeClient;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  clock?: Clock;
  random?: () => number;
  onStartedLeading?: () => void;
  onStoppedLeading?: () => void;
  onError?: (error: unknown) => void;
}

type LeaseObject = KubeObject & { spec?: LeaseSpec };

export class LeaderElector {
  private readonly options: LeaderElectionOptions;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly abort = new AbortController();
  private observed: ObservedLease | undefined;
  private lease: LeaseObject | undefined;
  private leading = false;
  private lastRenew = Number.NEGATIVE_INFINITY;
  private lastRenewFailed = false;
  private running: Promise<void> | undefined;

  constructor(options: LeaderElectionOptions) {
    this.options = options;
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.leaseDurationMs = options.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = options.retryPeriodMs ?? 2_000;
    if (this.renewDeadlineMs >= this.leaseDurationMs)
      throw new Error('the renew deadline must be shorter than the lease');
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** Whether this process may write now: leading, last renewal succeeded and within the renew deadline. */
  canWrite = (): boolean =>
    this.leading && !this.lastRenewFailed && this.clock.now() - this.lastRenew < this.renewDeadlineMs;

  /** Campaigns, then renews; resolves when leadership is lost or stop() was called. */
  run(): Promise<void> {
    this.running ??= this.campaign();
    return this.running;
  }

  /** Stops campaigning or renewing, and releases the Lease if held. */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.running;
    if (!this.leading) return;
    this.leading = false;
    try {
      const lease = this.lease;
      if (lease?.spec?.holderIdentity === this.options.identity) {
        await this.options.client.replace(leaseType, { ...lease, spec: releasedLease(lease.spec, this.clock.now()) });
      }
    } catch (error) {
      this.options.onError?.(error);
    }
    this.options.onStoppedLeading?.();
  }

  private jitteredRetry(): number {
    return this.retryPeriodMs * (1 + 0.2 * this.random());
  }

  private async campaign(): Promise<void> {
    const { signal } = this.abort;
    while (!signal.aborted && !(await this.tryAcquireOrRenew())) {
      await sleep(this.clock, this.jitteredRetry(), signal);
    }
    if (signal.aborted) return;
    this.leading = true;
    this.options.onStartedLeading?.();
    while (!signal.aborted) {
      await sleep(this.clock, this.retryPeriodMs, signal);
      if (signal.aborted) return;
      const renewed = await this.tryAcquireOrRenew();
      if (renewed) {
        this.lastRenewFailed = false;
        continue;
      }
      this.lastRenewFailed = true;
      if (
        this.clock.now() - this.lastRenew >= this.renewDeadlineMs ||
        this.lease?.spec?.holderIdentity !== this.options.identity
      ) {
        this.leading = false;
        this.options.onStoppedLeading?.();
        return;
      }
    }
  }

  /** One attempt; true when we hold the Lease afterwards. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const { client, namespace, name, identity } = this.options;
    const now = this.clock.now();
    try {
      let current: LeaseObject | undefined;
      try {
        current = await client.get<LeaseObject>(leaseType, name, namespace);
      } catch (error) {
        if (classifyError(error) !== 'notFound') throw error;
      }
      this.observe(current, now);
      const decision = decideLease(this.observed, identity, now, this.leaseDurationMs);
      if (decision.action === 'wait') return false;
      const written =
        decision.action === 'create' || !current
          ? await client.create<LeaseObject>(leaseType, { metadata: { name, namespace }, spec: decision.spec })
          : await client.replace<LeaseObject>(leaseType, { ...current, spec: decision.spec });
      this.lease = written;
      this.observed = { spec: written.spec ?? {}, observedAt: now };
      this.lastRenew = now;
      return true;
    } catch (error) {
      this.options.onError?.(error);
      return false;
    }
  }

  private observe(current: LeaseObject | undefined, now: number): void {
    this.lease = current;
    if (!current) {
      this.observed = undefined;
      return;
    }
    const spec = current.spec ?? {};
    const previous = this.observed?.spec;
    const changed =
      !previous || previous.holderIdentity !== spec.holderIdentity || previous.renewTime !== spec.renewTime;
    if (changed) this.observed = { spec, observedAt: now };
  }
}
