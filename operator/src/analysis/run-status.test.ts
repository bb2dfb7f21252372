import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AnalysisRunSpec, Measurement, Metric } from '../api/analysis.ts';
import { MAX_MEASUREMENTS, recordMeasurement, startRun, stopRun } from './run-status.ts';

const metric = (name: string, fields: Partial<Metric> = {}): Metric => ({
  name,
  interval: '1s',
  successCondition: 'result >= 0.95',
  provider: { prometheus: { address: 'http://127.0.0.1:9090', query: `q_${name}` } },
  ...fields,
});
const spec = (...metrics: Metric[]): AnalysisRunSpec => ({
  gate: 'Step',
  revision: 'b',
  attempt: 0,
  templates: [],
  metrics,
});
const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
const measured = (s: number, phase: Measurement['phase'], value?: string, message?: string): Measurement => ({
  startedAt: at(s),
  phase,
  ...(value ? { value } : {}),
  ...(message ? { message } : {}),
});

describe('run status', () => {
  it('starts with every metric Running, its condition and query shown', () => {
    const status = startRun(spec(metric('rate')), at(0));
    assert.equal(status.phase, 'Running');
    assert.equal(status.metricResults?.[0]?.condition, 'success: result >= 0.95');
    assert.equal(status.metricResults?.[0]?.query, 'q_rate');
  });

  it('keeps only the last measurements, counting all of them', () => {
    const s = spec(metric('rate'));
    let status = startRun(s, at(0));
    for (let i = 0; i < MAX_MEASUREMENTS + 5; i++)
      status = recordMeasurement(s, status, 0, measured(i, 'Successful', '1'), at(i));
    const result = status.metricResults?.[0];
    assert.equal(result?.measurements.length, MAX_MEASUREMENTS);
    assert.equal(result?.count, MAX_MEASUREMENTS + 5);
    assert.equal(result?.measurements[0]?.startedAt, at(5));
  });

  it('a failure decides the run at once and says which metric, value and condition', () => {
    const s = spec(metric('rate'), metric('latency'));
    let status = startRun(s, at(0));
    status = recordMeasurement(
      s,
      status,
      0,
      measured(1, 'Failed', '0.5', '0.5 does not meet successCondition result >= 0.95'),
      at(1),
    );
    assert.equal(status.phase, 'Failed');
    assert.equal(status.finishedAt, at(1));
    assert.match(
      status.message ?? '',
      /^metric rate Failed: 0\.5 does not meet successCondition result >= 0\.95 \(1 measured/,
    );
    assert.equal(status.metricsFailed, 1);
    assert.equal(status.metricResults?.[1]?.phase, 'Successful', 'the others stop with the verdict they had');
  });

  it('a stopped run passes on what it measured', () => {
    const s = spec(metric('rate'));
    const status = stopRun(
      s,
      recordMeasurement(s, startRun(s, at(0)), 0, measured(1, 'Successful', '1'), at(1)),
      at(2),
    );
    assert.equal(status.phase, 'Successful');
    assert.match(status.message ?? '', /1 of 1 metrics passed, stopped by the release/);
  });
});
