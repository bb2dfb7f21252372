import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  computeCanaryReplicas,
  computeCarriedWeight,
  computeReplicaShare,
  computeRollingReplicas,
  computeTimeLeft,
  computeWeights,
  resolveCountOrPercent,
} from './compute.ts';

describe('computeCanaryReplicas', () => {
  const cases: [weight: number, stable: number, mode: 'weighted' | 'replicas', canary: number][] = [
    [10, 4, 'weighted', 1],
    [50, 4, 'weighted', 2],
    [30, 10, 'weighted', 3],
    [31, 10, 'weighted', 4],
    [0, 4, 'weighted', 1],
    [100, 4, 'weighted', 4],
    [150, 4, 'weighted', 4],
    [10, 1, 'weighted', 1],
    [10, 0, 'weighted', 0],
    [10, 9, 'replicas', 1],
    [25, 6, 'replicas', 2],
    [50, 4, 'replicas', 4],
    [80, 4, 'replicas', 4],
    [100, 4, 'replicas', 4],
    [0, 4, 'replicas', 1],
  ];
  for (const [weight, stable, mode, canary] of cases) {
    test(`${weight}% of ${stable} (${mode}) → ${canary}`, () => {
      assert.equal(computeCanaryReplicas(weight, stable, mode), canary);
    });
  }
});

describe('computeReplicaShare', () => {
  const cases: [canary: number, stable: number, share: number][] = [
    [1, 9, 10],
    [4, 4, 50],
    [2, 6, 25],
    [0, 0, 0],
  ];
  for (const [canary, stable, share] of cases) {
    test(`${canary} beside ${stable} → ${share}%`, () => assert.equal(computeReplicaShare(canary, stable), share));
  }
});

describe('computeCarriedWeight', () => {
  const cases: [ready: number, stable: number, mode: 'weighted' | 'replicas', weight: number][] = [
    [0, 1, 'weighted', 0],
    [0, 4, 'weighted', 0],
    [1, 4, 'weighted', 25],
    [1, 2, 'weighted', 50],
    [3, 10, 'weighted', 30],
    [2, 3, 'weighted', 66],
    [2, 2, 'weighted', 100],
    [5, 2, 'weighted', 100],
    [1, 0, 'weighted', 100],
    [0, 4, 'replicas', 0],
    [1, 9, 'replicas', 10],
    [4, 4, 'replicas', 50],
  ];
  for (const [ready, stable, mode, weight] of cases) {
    test(`${ready} Ready beside ${stable} (${mode}) carry ${weight}%`, () => {
      assert.equal(computeCarriedWeight(ready, stable, mode), weight);
    });
  }

  test('the pods computeCanaryReplicas asks for, all Ready, carry at least the weight asked for', () => {
    for (const mode of ['weighted', 'replicas'] as const) {
      for (let stable = 1; stable <= 12; stable++) {
        for (let weight = 1; weight <= (mode === 'replicas' ? 50 : 100); weight++) {
          const pods = computeCanaryReplicas(weight, stable, mode);
          assert.ok(computeCarriedWeight(pods, stable, mode) >= weight, `${weight}% of ${stable} (${mode})`);
        }
      }
    }
  });
});

describe('computeWeights', () => {
  const cases: [weight: number, stable: number, canary: number][] = [
    [0, 100, 0],
    [10, 90, 10],
    [100, 0, 100],
    [-5, 100, 0],
    [120, 0, 100],
    [33.4, 67, 33],
  ];
  for (const [weight, stable, canary] of cases) {
    test(`canary at ${weight} → ${stable}/${canary}, summing to 100`, () => {
      assert.deepEqual(computeWeights('a', 'b', weight), [
        { revision: 'a', weight: stable },
        { revision: 'b', weight: canary },
      ]);
    });
  }
});

describe('resolveCountOrPercent', () => {
  const cases: [value: number | string, total: number, round: 'up' | 'down', result: number][] = [
    ['25%', 10, 'up', 3],
    ['25%', 10, 'down', 2],
    ['0%', 10, 'up', 0],
    ['100%', 3, 'down', 3],
    [2, 10, 'up', 2],
    [0, 10, 'down', 0],
    ['1', 10, 'up', 1],
  ];
  for (const [value, total, round, result] of cases) {
    test(`${value} of ${total} rounded ${round} → ${result}`, () => {
      assert.equal(resolveCountOrPercent(value, total, round), result);
    });
  }
});

describe('computeRollingReplicas', () => {
  type Pods = [replicas: number, ready: number];
  const cases: {
    name: string;
    total: number;
    maxSurge: number | string;
    maxUnavailable: number | string;
    from: Pods;
    to: Pods;
    result: { from: number; to: number };
  }[] = [
    {
      name: 'surge first',
      total: 4,
      maxSurge: '25%',
      maxUnavailable: 0,
      from: [4, 4],
      to: [0, 0],
      result: { from: 4, to: 1 },
    },
    {
      name: 'no room until ready',
      total: 4,
      maxSurge: '25%',
      maxUnavailable: 0,
      from: [4, 4],
      to: [1, 0],
      result: { from: 4, to: 1 },
    },
    {
      name: 'one new Ready: one old goes',
      total: 4,
      maxSurge: '25%',
      maxUnavailable: 0,
      from: [4, 4],
      to: [1, 1],
      result: { from: 3, to: 1 },
    },
    {
      name: 'room again',
      total: 4,
      maxSurge: '25%',
      maxUnavailable: 0,
      from: [3, 3],
      to: [1, 1],
      result: { from: 3, to: 2 },
    },
    {
      name: 'all new Ready: old gone',
      total: 4,
      maxSurge: '25%',
      maxUnavailable: 0,
      from: [1, 1],
      to: [4, 4],
      result: { from: 0, to: 4 },
    },
    {
      name: 'maxUnavailable lets old go first',
      total: 4,
      maxSurge: 0,
      maxUnavailable: 1,
      from: [4, 4],
      to: [0, 0],
      result: { from: 3, to: 0 },
    },
    {
      name: 'then new fills the room',
      total: 4,
      maxSurge: 0,
      maxUnavailable: 1,
      from: [3, 3],
      to: [0, 0],
      result: { from: 3, to: 1 },
    },
    {
      name: 'both zero is read as maxUnavailable 1',
      total: 2,
      maxSurge: 0,
      maxUnavailable: 0,
      from: [2, 2],
      to: [0, 0],
      result: { from: 1, to: 0 },
    },
    {
      name: 'the two not-Ready old pods may go, one at a time (as the Deployment controller does)',
      total: 4,
      maxSurge: 1,
      maxUnavailable: 0,
      from: [4, 2],
      to: [1, 1],
      result: { from: 3, to: 1 },
    },
    {
      name: 'from zero',
      total: 3,
      maxSurge: 1,
      maxUnavailable: 0,
      from: [0, 0],
      to: [0, 0],
      result: { from: 0, to: 3 },
    },
    {
      name: 'the target shrank (HPA)',
      total: 2,
      maxSurge: 1,
      maxUnavailable: 0,
      from: [4, 4],
      to: [0, 0],
      result: { from: 2, to: 0 },
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const result = computeRollingReplicas(
        { total: c.total, maxSurge: c.maxSurge, maxUnavailable: c.maxUnavailable },
        { replicas: c.from[0], readyReplicas: c.from[1] },
        { replicas: c.to[0], readyReplicas: c.to[1] },
      );
      assert.deepEqual(result, c.result);
    });
  }

  test('a whole update stays within total + maxSurge pods and keeps total − maxUnavailable Ready', () => {
    for (const [maxSurge, maxUnavailable] of [
      ['25%', 0],
      [0, '25%'],
      [2, 1],
      ['50%', '50%'],
    ] as const) {
      const total = 8;
      let from = { replicas: total, readyReplicas: total };
      let to = { replicas: 0, readyReplicas: 0 };
      for (let round = 0; round < 50 && to.readyReplicas < total; round++) {
        const next = computeRollingReplicas({ total, maxSurge, maxUnavailable }, from, to);
        assert.ok(next.from + next.to <= total + resolveCountOrPercent(maxSurge, total, 'up'));
        const ready = Math.min(from.readyReplicas, next.from) + Math.min(to.readyReplicas, next.to);
        assert.ok(ready >= total - Math.max(resolveCountOrPercent(maxUnavailable, total, 'down'), 0));
        from = { replicas: next.from, readyReplicas: next.from };
        to = { replicas: next.to, readyReplicas: next.to };
      }
      assert.deepEqual(computeRollingReplicas({ total, maxSurge, maxUnavailable }, from, to), { from: 0, to: total });
    }
  });
});

describe('computeTimeLeft', () => {
  test('counts down from start + duration', () => {
    const start = '2026-01-01T00:00:00.000Z';
    const t0 = Date.parse(start);
    assert.equal(computeTimeLeft(start, 120_000, t0 + 45_000), 75_000);
    assert.equal(computeTimeLeft(start, 120_000, t0 + 120_000), 0);
    assert.ok(computeTimeLeft(start, 120_000, t0 + 130_000) < 0);
  });
});
