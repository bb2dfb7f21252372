import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { computeReadiness, latestOf, type ReadinessInput } from './readiness.ts';

const now = 1_000_000;
const base: ReadinessInput = {
  role: 'leader',
  cachesSynced: true,
  lastContactAt: now - 1_000,
  now,
  contactBoundMs: 30_000,
};

describe('computeReadiness', () => {
  const cases: Array<{ name: string; input: Partial<ReadinessInput>; ready: boolean; reason?: RegExp }> = [
    { name: 'a leader with synced caches that heard from the API server 1 s ago', input: {}, ready: true },
    { name: 'a single process, synced, in contact', input: { role: 'single' }, ready: true },
    {
      name: 'a leader whose caches have not synced',
      input: { cachesSynced: false },
      ready: false,
      reason: /not synced/,
    },
    { name: 'a standby in contact (no caches run)', input: { role: 'standby', cachesSynced: false }, ready: true },
    {
      name: 'a standby that has not heard from the API server for 31 s',
      input: { role: 'standby', cachesSynced: false, lastContactAt: now - 31_000 },
      ready: false,
      reason: /no answer from the API server for 31s \(bound 30s\)/,
    },
    {
      name: 'a synced leader silent for longer than the bound',
      input: { lastContactAt: now - 30_001 },
      ready: false,
      reason: /no answer/,
    },
    { name: 'exactly at the bound still counts', input: { lastContactAt: now - 30_000 }, ready: true },
    {
      name: 'before the first answer',
      input: { role: 'standby', lastContactAt: undefined },
      ready: false,
      reason: /not answered yet/,
    },
  ];
  for (const { name, input, ready, reason } of cases) {
    it(name, () => {
      const verdict = computeReadiness({ ...base, ...input });
      assert.equal(verdict.ready, ready);
      if (reason) assert.match(verdict.reason ?? '', reason);
      else assert.equal(verdict.reason, undefined);
    });
  }
});

describe('latestOf', () => {
  it('takes the latest known instant', () => {
    assert.equal(latestOf([undefined, 5, 3, Number.NaN]), 5);
    assert.equal(latestOf([undefined]), undefined);
    assert.equal(latestOf([]), undefined);
  });
});
