import assert from 'node:assert/strict';
import { it } from 'node:test';
import { linearFit } from './scale.ts';

it('fits the per-service slope and the fixed cost', () => {
  const fit = linearFit([
    { x: 500, y: 100_000 + 500 * 80 },
    { x: 1000, y: 100_000 + 1000 * 80 },
    { x: 2000, y: 100_000 + 2000 * 80 },
  ]);
  assert.equal(Math.round(fit.slope), 80);
  assert.equal(Math.round(fit.intercept), 100_000);
});
