import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Metric } from '../api/analysis.ts';
import { computeDue, computeNextMeasurement } from './schedule.ts';

const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const at = (ms: number) => new Date(T0 + ms).toISOString();
const started = at(0);
const metric = (fields: Partial<Metric> = {}): Metric => ({
  name: 'm',
  interval: '10s',
  successCondition: 'result > 0',
  provider: { web: { url: 'http://127.0.0.1/' } },
  ...fields,
});

describe('computeNextMeasurement', () => {
  const cases: { name: string; metric: Partial<Metric>; count: number; last?: number; next: number | undefined }[] = [
    { name: 'the first at the start', metric: {}, count: 0, next: 0 },
    { name: 'the first after initialDelay', metric: { initialDelay: '30s' }, count: 0, next: 30_000 },
    { name: 'the next an interval after the last began', metric: {}, count: 1, last: 2_000, next: 12_000 },
    { name: 'the interval defaults to 1m', metric: { interval: undefined }, count: 1, last: 0, next: 60_000 },
    { name: 'none after count', metric: { count: 2 }, count: 2, last: 10_000, next: undefined },
    { name: 'one more before count', metric: { count: 3 }, count: 2, last: 10_000, next: 20_000 },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const next = computeNextMeasurement(metric(c.metric), started, {
        count: c.count,
        ...(c.last !== undefined ? { lastStartedAt: at(c.last) } : {}),
      });
      assert.equal(next, c.next === undefined ? undefined : T0 + c.next);
    });
  }
});

describe('computeDue: a restart neither loses nor repeats a measurement', () => {
  const metrics = (lastStartedAt: number | undefined, count: number) => [
    {
      metric: metric(),
      progress: { count, ...(lastStartedAt !== undefined ? { lastStartedAt: at(lastStartedAt) } : {}) },
      finished: false,
    },
  ];
  it('a measurement in the status is not due again before its interval', () => {
    assert.deepEqual(computeDue(metrics(10_000, 2), started, T0 + 10_001), { due: [], nextInMs: 9_999 });
  });
  it('one missed while the operator was down is due at once, only once', () => {
    assert.deepEqual(computeDue(metrics(10_000, 2), started, T0 + 45_000).due, [0]);
  });
  it('a finished metric is never due', () => {
    assert.deepEqual(
      computeDue(
        metrics(0, 1).map((m) => ({ ...m, finished: true })),
        started,
        T0 + 99_000,
      ),
      { due: [] },
    );
  });
  it('the earliest of several metrics sets the wait', () => {
    const two = [
      ...metrics(0, 1),
      { metric: metric({ interval: '3s' }), progress: { count: 1, lastStartedAt: at(0) }, finished: false },
    ];
    assert.deepEqual(computeDue(two, started, T0 + 1_000), { due: [], nextInMs: 2_000 });
  });
});
