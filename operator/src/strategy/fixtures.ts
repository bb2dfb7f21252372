// Builders for the strategy tests: an input from defaults and modifiers, a tiny simulated cluster
// that makes planned pods Ready, and the invariants every plan must keep.
import assert from 'node:assert/strict';
import { computeCarriedWeight } from './compute.ts';
import type {
  BlueGreenInput,
  BlueGreenStrategy,
  CanaryInput,
  CanaryStep,
  ObservedRevision,
  RollingInput,
  RolloutPlan,
  RolloutRequests,
  StrategyInput,
  StrategyStatus,
} from './types.ts';

/** 2026-01-01T00:00:00Z: the tests' clock starts here. */
export const T0 = Date.parse('2026-01-01T00:00:00.000Z');

export const seconds = (n: number) => n * 1000;

export const at = (ms: number) => new Date(ms).toISOString();

type Modifier<I> = (input: I) => void;

export const STEPS: CanaryStep[] = [{ setWeight: 10 }, { pause: {} }, { setWeight: 50 }, { pause: { duration: '2m' } }];

function build<I extends StrategyInput<unknown>>(base: I, modifiers: Modifier<I>[]): I {
  for (const modify of modifiers) modify(base);
  return base;
}

function base<S>(strategy: S) {
  return {
    strategy,
    paused: false,
    requests: {},
    status: {},
    desiredRevision: 'a',
    revisions: [],
    replicas: 4,
    now: T0,
  };
}

export function canaryInput(...modifiers: Modifier<CanaryInput>[]): CanaryInput {
  return build<CanaryInput>(base({ steps: STEPS.map((step) => ({ ...step })) }), modifiers);
}

export function blueGreenInput(strategy: BlueGreenStrategy, ...modifiers: Modifier<BlueGreenInput>[]): BlueGreenInput {
  return build<BlueGreenInput>(base(strategy), modifiers);
}

export function rollingInput(...modifiers: Modifier<RollingInput>[]): RollingInput {
  return build<RollingInput>(base({ maxSurge: '25%', maxUnavailable: 0 }), modifiers);
}

export const withDesired =
  (revision: string) =>
  (input: StrategyInput<unknown>): void => {
    input.desiredRevision = revision;
  };

export const withStatus =
  (status: StrategyStatus) =>
  (input: StrategyInput<unknown>): void => {
    input.status = status;
  };

/** Revisions as `name:replicas/ready`, e.g. `a:4/4`, `b:1/0`. */
export const withRevisions =
  (...specs: string[]) =>
  (input: StrategyInput<unknown>): void => {
    input.revisions = specs.map(parseRevision);
  };

function parseRevision(spec: string): ObservedRevision {
  const match = /^([^:]+):(\d+)\/(\d+)$/.exec(spec);
  assert.ok(match, `bad revision spec ${spec}`);
  return { revision: match[1] as string, replicas: Number(match[2]), readyReplicas: Number(match[3]) };
}

export const withRequests =
  (requests: RolloutRequests) =>
  (input: StrategyInput<unknown>): void => {
    input.requests = requests;
  };

export const withPaused = (input: StrategyInput<unknown>): void => {
  input.paused = true;
};

export const withReplicas =
  (replicas: number) =>
  (input: StrategyInput<unknown>): void => {
    input.replicas = replicas;
  };

export const atTime =
  (now: number) =>
  (input: StrategyInput<unknown>): void => {
    input.now = now;
  };

export const withSteps =
  (...steps: CanaryStep[]) =>
  (input: CanaryInput): void => {
    input.strategy.steps = steps;
  };

/** A canary release of b over a, at `index` with `weight`, as a plan left it. */
export function midCanary(index: number, weight: number, extra: StrategyStatus = {}): StrategyStatus {
  return {
    strategy: 'Canary',
    phase: 'Progressing',
    stableRevision: 'a',
    canaryRevision: 'b',
    currentStepIndex: index,
    canaryWeight: weight,
    ...extra,
  };
}

/** The observed cluster after a plan was applied and every planned pod became Ready. */
export function settle(plan: RolloutPlan): ObservedRevision[] {
  return plan.revisions.map(({ revision, replicas }) => ({ revision, replicas, readyReplicas: replicas }));
}

export function replicasOf(plan: RolloutPlan): Record<string, number> {
  return Object.fromEntries(plan.revisions.map(({ revision, replicas }) => [revision, replicas]));
}

export function weightsOf(plan: RolloutPlan): Record<string, number> {
  assert.equal(plan.traffic.kind, 'weighted');
  return plan.traffic.kind === 'weighted'
    ? Object.fromEntries(plan.traffic.weights.map(({ revision, weight }) => [revision, weight]))
    : {};
}

export function conditionOf(plan: RolloutPlan, type: string) {
  const condition = plan.status.conditions?.find((candidate) => candidate.type === type);
  return condition && { status: condition.status, reason: condition.reason };
}

/**
 * What every plan keeps: weights that sum to 100, no weight on a revision beyond what its Ready
 * pods carry, at most two revisions, the serving revision at full size, the four conditions
 * agreeing with the phase.
 */
export function assertInvariants(plan: RolloutPlan, input: StrategyInput<unknown>): void {
  assert.ok(plan.revisions.length <= 2, `at most two revisions live: ${JSON.stringify(plan.revisions)}`);
  if (plan.traffic.kind === 'weighted') {
    assert.equal(
      plan.traffic.weights.reduce((sum, { weight }) => sum + weight, 0),
      100,
      'weights sum to 100',
    );
    const mode = plan.traffic.approximatedByReplicas ? 'replicas' : 'weighted';
    for (const { revision, weight } of plan.traffic.weights) {
      if (revision === plan.scaleTarget) continue;
      const ready = input.revisions.find((observed) => observed.revision === revision)?.readyReplicas ?? 0;
      const carried = computeCarriedWeight(ready, input.replicas, mode);
      assert.ok(weight <= carried, `${weight}% on ${revision}, whose ${ready} Ready pods carry ${carried}%`);
    }
  }
  const serving = plan.revisions.find(({ role }) => role === 'stable' || role === 'active');
  if (plan.traffic.kind !== 'selector') {
    assert.ok(serving, 'a revision serves traffic');
    assert.equal(serving.revision, plan.scaleTarget);
    assert.ok(serving.replicas >= input.replicas, 'the serving revision is never scaled below its replicas');
  }
  const phase = plan.status.phase;
  assert.equal(conditionOf(plan, 'Ready')?.status, phase === 'Healthy' ? 'True' : 'False');
  assert.equal(conditionOf(plan, 'Paused')?.status, phase === 'Paused' ? 'True' : 'False');
  assert.equal(conditionOf(plan, 'Aborted')?.status, phase === 'Aborted' || phase === 'Degraded' ? 'True' : 'False');
}

/** Plans `build()`, checks the invariants, and that a second plan of the same input is the same. */
export function checkedPlan<I extends StrategyInput<unknown>>(planner: (input: I) => RolloutPlan, build: () => I) {
  const input = build();
  const result = planner(input);
  assertInvariants(result, input);
  assert.deepEqual(planner(build()), result, 'the same input gives the same plan');
  return result;
}

export const eventReasons = (plan: RolloutPlan) => plan.events.map(({ type, reason }) => `${type}/${reason}`);
