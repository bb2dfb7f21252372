import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MeasurementPhase, Metric } from '../api/analysis.ts';
import { computeMetricPhase, computeRunPhase, countMeasurement, type MetricCounts, NO_COUNTS } from './limits.ts';

const metric = (fields: Partial<Metric> = {}): Metric => ({
  name: 'm',
  successCondition: 'result > 0',
  provider: { web: { url: 'http://127.0.0.1/' } },
  ...fields,
});

const after = (...phases: MeasurementPhase[]): MetricCounts => phases.reduce(countMeasurement, NO_COUNTS);
const S = 'Successful';
const F = 'Failed';
const I = 'Inconclusive';
const E = 'Error';

describe('computeMetricPhase', () => {
  const cases: {
    name: string;
    metric: Partial<Metric>;
    phases: MeasurementPhase[];
    stopped?: boolean;
    phase: string;
  }[] = [
    { name: 'nothing measured yet', metric: {}, phases: [], phase: 'Running' },
    { name: 'one failure over the default failureLimit 0', metric: {}, phases: [S, F], phase: 'Failed' },
    {
      name: 'failures up to failureLimit are tolerated',
      metric: { failureLimit: 2, count: 5 },
      phases: [F, S, F],
      phase: 'Running',
    },
    { name: 'one more than failureLimit fails', metric: { failureLimit: 2 }, phases: [F, F, F], phase: 'Failed' },
    { name: 'count reached, all good', metric: { count: 3 }, phases: [S, S, S], phase: 'Successful' },
    {
      name: 'count reached with tolerated failures',
      metric: { count: 3, failureLimit: 1 },
      phases: [S, F, S],
      phase: 'Successful',
    },
    { name: 'four errors in a row are tolerated by default', metric: {}, phases: [E, E, E, E], phase: 'Running' },
    { name: 'the fifth error in a row is an Error', metric: {}, phases: [E, E, E, E, E], phase: 'Error' },
    { name: 'a success resets the errors in a row', metric: {}, phases: [E, E, E, E, S, E, E, E, E], phase: 'Running' },
    {
      name: 'consecutiveErrorLimit 0: the first error decides',
      metric: { consecutiveErrorLimit: 0 },
      phases: [E],
      phase: 'Error',
    },
    { name: 'an inconclusive one over inconclusiveLimit 0', metric: {}, phases: [I], phase: 'Inconclusive' },
    {
      name: 'inconclusive ones up to inconclusiveLimit',
      metric: { inconclusiveLimit: 1, count: 3 },
      phases: [I, S],
      phase: 'Running',
    },
    { name: 'a failure outranks inconclusive ones', metric: { inconclusiveLimit: 0 }, phases: [I, F], phase: 'Failed' },
    { name: 'without count, a stopped run passes', metric: {}, phases: [S, S], stopped: true, phase: 'Successful' },
    { name: 'a stopped run still fails on its failures', metric: {}, phases: [F], stopped: true, phase: 'Failed' },
  ];
  for (const c of cases) {
    it(c.name, () => assert.equal(computeMetricPhase(metric(c.metric), after(...c.phases), c.stopped), c.phase));
  }

  it('counts each phase and the errors in a row', () => {
    assert.deepEqual(after(S, E, E, F, I, E), {
      count: 6,
      successful: 1,
      failed: 1,
      inconclusive: 1,
      error: 3,
      consecutiveErrors: 1,
    });
  });
});

describe('computeRunPhase', () => {
  const cases: {
    name: string;
    metrics: { phase: 'Running' | 'Successful' | 'Failed' | 'Inconclusive' | 'Error'; dryRun?: boolean }[];
    phase: string;
  }[] = [
    { name: 'all passed', metrics: [{ phase: 'Successful' }, { phase: 'Successful' }], phase: 'Successful' },
    { name: 'one failed ends the run at once', metrics: [{ phase: 'Failed' }, { phase: 'Running' }], phase: 'Failed' },
    { name: 'an error ends it too', metrics: [{ phase: 'Error' }, { phase: 'Running' }], phase: 'Error' },
    {
      name: 'inconclusive waits for the others',
      metrics: [{ phase: 'Inconclusive' }, { phase: 'Running' }],
      phase: 'Running',
    },
    {
      name: 'inconclusive once the others are done',
      metrics: [{ phase: 'Inconclusive' }, { phase: 'Successful' }],
      phase: 'Inconclusive',
    },
    {
      name: 'a failing dry-run metric never decides',
      metrics: [{ phase: 'Failed', dryRun: true }, { phase: 'Successful' }],
      phase: 'Successful',
    },
    {
      name: 'a dry-run metric still measuring does not hold the run',
      metrics: [{ phase: 'Running', dryRun: true }, { phase: 'Successful' }],
      phase: 'Successful',
    },
    {
      name: 'dry-run metrics only: runs until they are done',
      metrics: [{ phase: 'Running', dryRun: true }],
      phase: 'Running',
    },
  ];
  for (const c of cases) it(c.name, () => assert.equal(computeRunPhase(c.metrics), c.phase));
});
