import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Metric } from '../api/analysis.ts';
import { checkConditions, evaluateMeasurement, formatValue, isNoData, type MetricValue } from './evaluate.ts';

const metric = (fields: Partial<Metric>): Metric => ({
  name: 'm',
  provider: { prometheus: { address: 'http://127.0.0.1:9090', query: 'q' } },
  ...fields,
});

describe('evaluateMeasurement', () => {
  const cases: { name: string; metric: Partial<Metric>; value: MetricValue; phase: string; says?: RegExp }[] = [
    {
      name: 'success condition met',
      metric: { successCondition: 'result >= 0.99' },
      value: 0.995,
      phase: 'Successful',
    },
    {
      name: 'success condition not met',
      metric: { successCondition: 'result >= 0.99' },
      value: 0.9,
      phase: 'Failed',
      says: /0\.9 does not meet successCondition result >= 0\.99/,
    },
    {
      name: 'failure condition met',
      metric: { failureCondition: 'result > 0.05' },
      value: 0.2,
      phase: 'Failed',
      says: /meets failureCondition/,
    },
    {
      name: 'failure condition not met',
      metric: { failureCondition: 'result > 0.05' },
      value: 0.01,
      phase: 'Successful',
    },
    {
      name: 'both conditions, neither true',
      metric: { successCondition: 'result < 0.01', failureCondition: 'result > 0.1' },
      value: 0.05,
      phase: 'Inconclusive',
    },
    {
      name: 'both conditions, failure wins',
      metric: { successCondition: 'result < 1', failureCondition: 'result > 0.1' },
      value: 0.5,
      phase: 'Failed',
    },
    {
      name: '+Inf is a value: it fails a bound',
      metric: { successCondition: 'result < 500' },
      value: Infinity,
      phase: 'Failed',
      says: /\+Inf/,
    },
    {
      name: '-Inf passes an upper bound',
      metric: { successCondition: 'result < 500' },
      value: -Infinity,
      phase: 'Successful',
    },
    {
      name: 'NaN is no data: Inconclusive by default',
      metric: { successCondition: 'result > 0' },
      value: Number.NaN,
      phase: 'Inconclusive',
      says: /no data \(NaN\)/,
    },
    {
      name: 'an empty vector is no data',
      metric: { successCondition: 'result > 0' },
      value: [],
      phase: 'Inconclusive',
      says: /noData: Inconclusive/,
    },
    {
      name: 'no data with noData: Fail',
      metric: { successCondition: 'result > 0', noData: 'Fail' },
      value: [],
      phase: 'Failed',
    },
    {
      name: 'no data with noData: Pass',
      metric: { successCondition: 'result > 0', noData: 'Pass' },
      value: Number.NaN,
      phase: 'Successful',
    },
    {
      name: 'several samples with a list condition',
      metric: { successCondition: 'result.all(x, x < 500)' },
      value: [120, 480],
      phase: 'Successful',
    },
    {
      name: 'several samples, one over',
      metric: { successCondition: 'result.all(x, x < 500)' },
      value: [120, 520],
      phase: 'Failed',
    },
    {
      name: 'a list where a number is expected is an Error, said',
      metric: { successCondition: 'result < 500' },
      value: [1, 2],
      phase: 'Error',
      says: /cannot evaluate/,
    },
    {
      name: 'NaN samples of a list are left out',
      metric: { successCondition: 'result < 500' },
      value: [Number.NaN, 3],
      phase: 'Successful',
    },
    {
      name: 'a list of NaN only is no data',
      metric: { successCondition: 'result < 500' },
      value: [Number.NaN, Number.NaN],
      phase: 'Inconclusive',
    },
    {
      name: 'thresholdRange inside',
      metric: { thresholdRange: { min: 0.9, max: 1 } },
      value: 0.95,
      phase: 'Successful',
    },
    {
      name: 'thresholdRange bounds are inclusive',
      metric: { thresholdRange: { max: 1 } },
      value: 1,
      phase: 'Successful',
    },
    {
      name: 'thresholdRange below min',
      metric: { thresholdRange: { min: 0.9 } },
      value: 0.5,
      phase: 'Failed',
      says: /outside success: 0\.9 <= result/,
    },
    {
      name: 'thresholdRange over every sample',
      metric: { thresholdRange: { max: 500 } },
      value: [100, 600],
      phase: 'Failed',
    },
    { name: 'thresholdRange and +Inf', metric: { thresholdRange: { max: 500 } }, value: Infinity, phase: 'Failed' },
    {
      name: 'a condition that is not boolean is an Error',
      metric: { successCondition: 'result + 1' },
      value: 1,
      phase: 'Error',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const verdict = evaluateMeasurement(metric(c.metric), c.value);
      assert.equal(verdict.phase, c.phase, verdict.message);
      if (c.says) assert.match(verdict.message, c.says);
    });
  }
});

describe('values and conditions', () => {
  it('formats values as Prometheus does', () => {
    assert.equal(formatValue(0.5), '0.5');
    assert.equal(formatValue(Infinity), '+Inf');
    assert.equal(formatValue([1, Number.NaN, -Infinity]), '[1,NaN,-Inf]');
  });
  it('knows no data', () => {
    assert.equal(isNoData([]), true);
    assert.equal(isNoData(Number.NaN), true);
    assert.equal(isNoData(0), false);
    assert.equal(isNoData([Number.NaN, 0]), false);
  });
  it('names a condition that is not CEL', () => {
    assert.match(
      checkConditions(metric({ successCondition: 'result >= ' })) ?? '',
      /successCondition "result >= " is not valid CEL/,
    );
    assert.equal(
      checkConditions(metric({ successCondition: 'result >= 1', failureCondition: 'result < 0' })),
      undefined,
    );
  });
});
