import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { RolloutSpec } from '../api/rollout.ts';
import { T0 } from './fixtures.ts';
import { planRollout, requestsOf } from './index.ts';

function spec(strategy: RolloutSpec['strategy'], extra: Partial<RolloutSpec> = {}): RolloutSpec {
  return { serviceRef: { name: 'orders' }, strategy, ...extra };
}

const observed = {
  status: { stableRevision: 'a' },
  desiredRevision: 'b',
  revisions: [{ revision: 'a', replicas: 4, readyReplicas: 4 }],
  replicas: 4,
  now: T0,
};

describe('planRollout', () => {
  const cases: { name: string; spec: RolloutSpec; strategy: string; traffic: string }[] = [
    { name: 'canary', spec: spec({ canary: { steps: [{ setWeight: 20 }] } }), strategy: 'Canary', traffic: 'weighted' },
    { name: 'blue-green', spec: spec({ blueGreen: {} }), strategy: 'BlueGreen', traffic: 'blueGreen' },
    { name: 'rolling', spec: spec({ rolling: {} }), strategy: 'Rolling', traffic: 'selector' },
  ];
  for (const c of cases) {
    test(`spec.strategy.${c.name} picks the ${c.strategy} state machine`, () => {
      const plan = planRollout({ ...observed, spec: c.spec });
      assert.equal(plan.status.strategy, c.strategy);
      assert.equal(plan.traffic.kind, c.traffic);
      assert.equal(plan.status.canaryRevision, 'b');
    });
  }

  test('spec.paused and the one-shot requests come from the spec', () => {
    const paused = planRollout({
      ...observed,
      spec: spec({ canary: { steps: [{ setWeight: 20 }] } }, { paused: true }),
    });
    assert.equal(paused.status.phase, 'Paused');
    const aborted = planRollout({
      ...observed,
      status: { stableRevision: 'a', canaryRevision: 'b', currentStepIndex: 0, strategy: 'Canary' },
      spec: spec({ canary: { steps: [{ setWeight: 20 }] } }, { abort: true }),
    });
    assert.equal(aborted.status.phase, 'Aborted');
    assert.equal(aborted.requestHandled, 'abort');
  });

  test('the resolved traffic routing reaches the canary', () => {
    const plan = planRollout({
      ...observed,
      spec: spec({ canary: { steps: [{ setWeight: 20 }], trafficRouting: 'auto' } }),
      trafficRouting: 'replicas',
    });
    assert.equal(plan.traffic.kind === 'weighted' && plan.traffic.approximatedByReplicas, true);
  });
});

describe('requestsOf', () => {
  const cases: [Partial<RolloutSpec>, object][] = [
    [{}, {}],
    [{ promote: 'step' }, { promote: 'step' }],
    [{ abort: true }, { abort: true }],
    [{ abort: false, retry: true }, { retry: true }],
  ];
  for (const [extra, requests] of cases) {
    test(JSON.stringify(extra), () => assert.deepEqual(requestsOf(spec({ rolling: {} }, extra)), requests));
  }
});
