import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatNumber, percentile, verdict } from './stats.ts';

test('percentile is the nearest rank, whatever the order of the values', () => {
  const values = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6];
  assert.equal(percentile(values, 50), 5);
  assert.equal(percentile(values, 90), 9);
  assert.equal(percentile(values, 99), 10);
  assert.equal(percentile(values, 100), 10);
  assert.equal(percentile(values, 0), 1);
  assert.equal(percentile([42], 99), 42);
  assert.ok(Number.isNaN(percentile([], 50)));
  assert.deepEqual(values, [5, 1, 4, 2, 3, 10, 9, 8, 7, 6], 'the input is not sorted in place');
});

test('verdict says whether the figure is within its goal', () => {
  const times = (n: number) => `${n.toFixed(2)}×`;
  assert.equal(verdict(1.12, 1.3, times), '1.12× ≤ 1.30×: met');
  assert.equal(verdict(1.31, 1.3, times), '1.31× ≤ 1.30×: NOT met');
  assert.equal(formatNumber(12345.67, 1), '12,345.7');
});
