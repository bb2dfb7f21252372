import assert from 'node:assert/strict';
import { it } from 'node:test';
import { flatTail, svgChart } from './svg-chart.ts';

it('draws one panel per series, scaled to the largest value, with escaped labels', () => {
  const svg = svgChart('soak <200>', [
    {
      name: 'RSS',
      unit: 'MiB',
      points: [
        { x: 0, y: 50 },
        { x: 10, y: 100 },
      ],
    },
    { name: 'heap', unit: 'MiB', points: [] },
  ]);
  assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.match(svg, /soak &lt;200&gt;/);
  assert.equal(svg.match(/<polyline/g)?.length, 1);
  // x: 0 → the left edge (60), 10 → the right edge (620); y: 100 → 10 % below the top (yMax 110).
  assert.match(svg, /points="60,\d+(\.\d)? 620,\d+(\.\d)?"/);
  assert.match(svg, />110</);
});

it('flatTail: the last part of a series within a tolerance of its mean', () => {
  assert.equal(flatTail([50, 60, 100, 101, 99, 100], 0.5, 0.05).flat, true);
  assert.equal(flatTail([100, 100, 100, 100, 110, 120], 0.5, 0.05).flat, false);
  assert.equal(flatTail([], 0.5, 0.05).flat, false);
});
