// Release strategies: pure state machines from a Rollout and what is observed to a plan.
import type { RolloutSpec, TrafficRouting } from '../api/rollout.ts';
import { planBlueGreen } from './blue-green.ts';
import { planCanary } from './canary.ts';
import { planRolling } from './rolling.ts';
import type { RolloutPlan, RolloutRequests, StrategyInput } from './types.ts';

export { computeAutoPromotionSeconds, planBlueGreen } from './blue-green.ts';
export { planCanary } from './canary.ts';
export * from './compute.ts';
export { buildConditions, EventReason, type Outcome, Reason } from './conditions.ts';
export { planRolling } from './rolling.ts';
export type * from './types.ts';

/** Everything a plan needs, with the Rollout's spec as the user wrote it. */
export interface RolloutPlanInput extends Omit<StrategyInput<unknown>, 'strategy' | 'paused' | 'requests'> {
  spec: RolloutSpec;
  /** Canary only: spec.strategy.canary.trafficRouting with `auto` resolved to what is installed. */
  trafficRouting?: Exclude<TrafficRouting, 'auto'>;
}

/** The one-shot requests present in a Rollout spec. */
export function requestsOf(spec: RolloutSpec): RolloutRequests {
  const requests: RolloutRequests = {};
  if (spec.promote) requests.promote = spec.promote;
  if (spec.abort) requests.abort = true;
  if (spec.retry) requests.retry = true;
  return requests;
}

/** Plans a release with the Rollout's strategy: canary, blueGreen or rolling (the default). */
export function planRollout(input: RolloutPlanInput): RolloutPlan {
  const { spec, trafficRouting, ...observed } = input;
  const common = { ...observed, paused: spec.paused ?? false, requests: requestsOf(spec) };
  const { canary, blueGreen, rolling } = spec.strategy;
  if (canary)
    return planCanary(
      trafficRouting ? { ...common, strategy: canary, trafficRouting } : { ...common, strategy: canary },
    );
  if (blueGreen) return planBlueGreen({ ...common, strategy: blueGreen });
  return planRolling({ ...common, strategy: rolling ?? {} });
}
