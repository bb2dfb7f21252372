// What /readyz answers. Ready means "this process can do its job now": it has heard from the API
// server within a bound (any answer that is not a 5xx, or a watch event), and, unless it is a
// standby, every cache has synced. A standby that cannot reach the API server is not ready either:
// it could not take over, and a Pod shown Ready while nothing works hides the outage.

export type Role = 'single' | 'leader' | 'standby';

export interface ReadinessInput {
  role: Role;
  /** Every controller's caches filled by a first list (false when no controller runs yet). */
  cachesSynced: boolean;
  /** When the API server last answered (ms since the epoch); undefined before its first answer. */
  lastContactAt: number | undefined;
  now: number;
  /** The longest silence from the API server that still counts as ready. */
  contactBoundMs: number;
}

export interface ReadinessVerdict {
  ready: boolean;
  /** Why not, when not ready. */
  reason?: string;
}

export function computeReadiness({
  role,
  cachesSynced,
  lastContactAt,
  now,
  contactBoundMs,
}: ReadinessInput): ReadinessVerdict {
  if (lastContactAt === undefined) return { ready: false, reason: 'the API server has not answered yet' };
  const silentMs = now - lastContactAt;
  if (silentMs > contactBoundMs) {
    return {
      ready: false,
      reason: `no answer from the API server for ${Math.round(silentMs / 1000)}s (bound ${contactBoundMs / 1000}s)`,
    };
  }
  if (role === 'standby') return { ready: true };
  if (!cachesSynced) return { ready: false, reason: 'the caches have not synced yet' };
  return { ready: true };
}

/** The latest of several instants (ms since the epoch), ignoring the unknown ones. */
export function latestOf(instants: ReadonlyArray<number | undefined>): number | undefined {
  let latest: number | undefined;
  for (const instant of instants) {
    if (instant !== undefined && !Number.isNaN(instant) && (latest === undefined || instant > latest)) latest = instant;
  }
  return latest;
}
