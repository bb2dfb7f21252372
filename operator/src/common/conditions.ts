// The one rule for a metav1.Condition's lastTransitionTime, shared by every status Flotilla writes.
import { formatKubeTime } from './canonical.ts';

export interface ConditionLike {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

/**
 * `wanted` as a condition: its lastTransitionTime is kept from `previous` while its status does
 * not flip, and is `now` (RFC 3339 in whole seconds, as metav1.Time) when it flips or is new.
 */
export function nextCondition<C extends ConditionLike>(
  previous: readonly C[] | undefined,
  wanted: Omit<C, 'lastTransitionTime' | 'observedGeneration'>,
  now: string,
  generation?: number,
): C {
  const before = previous?.find((condition) => condition.type === wanted.type);
  const condition = {
    ...wanted,
    lastTransitionTime:
      before && before.status === wanted.status ? before.lastTransitionTime : formatKubeTime(new Date(now)),
  } as C;
  if (generation !== undefined) condition.observedGeneration = generation;
  return condition;
}
