// The one rule for a metav1.Condition's lastTransitionTime, shared by every status Flotilla writes.
import { formatKubeTime } from './canonical.ts';

export interface ConditionLike {
  type: string;
  status: ConditionStatus;
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

export type ConditionStatus = 'True' | 'False' | 'Unknown';

export type Condition = ConditionLike;

/** A condition before it is stamped with a transition time and generation. */
export interface ConditionFact {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
}

/**
 * Conditions from facts, in the order given: `lastTransitionTime` is kept from `previous` while a
 * condition's status is unchanged, and set to `now` when it flips or is new.
 */
export function computeConditions(
  previous: readonly Condition[] | undefined,
  facts: readonly ConditionFact[],
  now: string,
  generation: number | undefined,
): Condition[] {
  return facts.map((fact) => nextCondition(previous, fact, now, generation));
}
