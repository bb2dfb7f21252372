// Exponential backoff: the per-key delays of the work queue and the reconnect delays of a reflector.

export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
  /** 0 for none; 1 adds up to 100% of the delay at random (client-go's reflector uses 1.0). */
  jitter: number;
}

/** The work queue's per-key retry delays: 5 ms doubling to 5 minutes. */
export const itemBackoff: BackoffPolicy = { initialMs: 5, maxMs: 5 * 60_000, jitter: 0 };
/** A reflector's delay after an error: 800 ms doubling to 30 s, jittered. */
export const watchBackoff: BackoffPolicy = { initialMs: 800, maxMs: 30_000, jitter: 1 };

/** The delay before retry number `failures` (1 for the first failure); `random` returns [0, 1). */
export function computeBackoffDelay(policy: BackoffPolicy, failures: number, random: () => number = Math.random) {
  const exponent = Math.max(0, failures - 1);
  const base = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(exponent, 52));
  return Math.min(policy.maxMs, base * (1 + policy.jitter * random()));
}
