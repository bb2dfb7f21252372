// The pure part of leader election: given the Lease as last read and when this process first saw
// its current holder/renewTime, what to do. Expiry is judged on our own clock from the moment we
// observed the record change (as client-go does), never from the timestamps written by others,
// so clock skew between nodes does not matter.

export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

export interface ObservedLease {
  spec: LeaseSpec;
  /** Our clock (ms) when we first saw this holderIdentity + renewTime. */
  observedAt: number;
}

export type LeaseDecision =
  | { action: 'create'; spec: LeaseSpec }
  | { action: 'update'; spec: LeaseSpec; acquired: boolean }
  | { action: 'wait'; holder: string };

/** metav1.MicroTime: RFC 3339 with microseconds. */
export function formatMicroTime(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, '000Z');
}

export function decideLease(
  observed: ObservedLease | undefined,
  identity: string,
  now: number,
  leaseDurationMs: number,
): LeaseDecision {
  const renewTime = formatMicroTime(now);
  const leaseDurationSeconds = Math.ceil(leaseDurationMs / 1000);
  if (!observed) {
    return {
      action: 'create',
      spec: { holderIdentity: identity, leaseDurationSeconds, acquireTime: renewTime, renewTime, leaseTransitions: 0 },
    };
  }
  const { spec } = observed;
  const holder = spec.holderIdentity ?? '';
  if (holder === identity) {
    return { action: 'update', acquired: false, spec: { ...spec, leaseDurationSeconds, renewTime } };
  }
  const heldFor = (spec.leaseDurationSeconds ?? leaseDurationSeconds) * 1000;
  if (holder !== '' && observed.observedAt + heldFor > now) return { action: 'wait', holder };
  return {
    action: 'update',
    acquired: true,
    spec: {
      holderIdentity: identity,
      leaseDurationSeconds,
      acquireTime: renewTime,
      renewTime,
      leaseTransitions: (spec.leaseTransitions ?? 0) + (holder === '' ? 0 : 1),
    },
  };
}

/** The spec that gives the Lease up: no holder, so the next candidate takes it at its next try. */
export function releasedLease(spec: LeaseSpec, now: number): LeaseSpec {
  const at = formatMicroTime(now);
  return { ...spec, holderIdentity: '', leaseDurationSeconds: 1, acquireTime: at, renewTime: at };
}
