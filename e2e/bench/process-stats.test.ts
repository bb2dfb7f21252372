import assert from 'node:assert/strict';
import { it } from 'node:test';
import { parseProcStatCpu, processFigures } from './process-stats.ts';

it('reads utime + stime after a command name with spaces and parentheses', () => {
  const stat = '4242 (node (main) x) S 1 4242 4242 0 -1 4194560 5000 0 0 0 250 75 0 0 20 0 11 0 100 0 0';
  assert.equal(parseProcStatCpu(stat), 3.25);
});

it("reads this process's own figures", async () => {
  const figures = await processFigures(process.pid);
  assert.ok(figures.cpuSeconds > 0);
  assert.ok(figures.rssMiB > 10 && figures.peakRssMiB >= figures.rssMiB);
});
