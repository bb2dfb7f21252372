// How often a MicroService's status may change only in how far its pods have got. A Deployment
// coming up passes through several such states in a second or two ("waiting for the Deployment
// controller", "0 of 3 pods available", "2 of 3 ..."); writing each is a status write per state
// for every service. Any other change — a condition flipping, a new reason, a new generation,
// revision or URL — is written at once; a progress-only change waits until the interval since
// this process last wrote that service's status has passed, then shows the state as it is then.
import type { MicroServiceStatus } from '../../api/microservice.ts';
import { canonicalEqual } from '../../kube/canonical.ts';

export const PROGRESS_STATUS_INTERVAL_MS = 1_000;

type Conditions = NonNullable<MicroServiceStatus['conditions']>;

const withoutProgress = (status: MicroServiceStatus | undefined): unknown => {
  const { replicas: _replicas, readyReplicas: _ready, conditions = [], ...rest } = status ?? {};
  return {
    ...rest,
    conditions: (conditions as Conditions).map(({ message: _message, ...condition }) => condition),
  };
};

/** Whether `next` differs from `previous`, and only in condition messages and pod counts. Pure. */
export function isProgressOnly(previous: MicroServiceStatus | undefined, next: MicroServiceStatus): boolean {
  return (
    previous !== undefined &&
    !canonicalEqual(previous, next) &&
    canonicalEqual(withoutProgress(previous), withoutProgress(next))
  );
}

/** When each service's status was last written by this process. */
export class StatusPacer {
  private readonly writtenAt = new Map<string, number>();
  private readonly intervalMs: number;

  constructor(intervalMs = PROGRESS_STATUS_INTERVAL_MS) {
    this.intervalMs = intervalMs;
  }

  /** How long to hold back writing `next` over `previous` (undefined: write it now). */
  holdFor(
    key: string,
    previous: MicroServiceStatus | undefined,
    next: MicroServiceStatus,
    nowMs: number,
  ): number | undefined {
    const last = this.writtenAt.get(key);
    if (last === undefined || !isProgressOnly(previous, next)) return undefined;
    const wait = last + this.intervalMs - nowMs;
    return wait > 0 ? wait : undefined;
  }

  wrote(key: string, nowMs: number): void {
    this.writtenAt.set(key, nowMs);
  }

  forget(key: string): void {
    this.writtenAt.delete(key);
  }
}
