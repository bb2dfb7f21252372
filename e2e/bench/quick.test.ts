// Performance in CI's log: the quick form (FLOTILLA_BENCH_SCALE=0.1) of the microservices and rollouts
// scenarios of `npm run bench`, against the test cluster, in namespaces of their own
// (flotilla-bench-*). Each figure is printed as a diagnostic of its test, so that a change that
// doubles one shows in the log; no timing is asserted (the machine's load would make that flaky).
// What fails the test is an outcome: a service that never becomes Ready, a release that never ends
// Healthy, a canary's weight on unready pods (the scenarios throw when a wait runs out).
import assert from 'node:assert/strict';
import { after, describe, it, type TestContext } from 'node:test';
import { createKubeClient } from '../../operator/src/kube/client.ts';
import { installCrds } from '../integration/api-support.ts';
import { connectToCluster } from '../support/cluster.ts';
import { microServiceBench } from './microservices.ts';
import { rolloutBench } from './rollouts.ts';

const SCALE = 0.1;
const cluster = await connectToCluster();
await installCrds(cluster);
const client = await createKubeClient(cluster.kubeConfig);
after(() => client.close());

/** Prints each line as the test's diagnostic; keeps them for the outcome checks. */
function printer(t: TestContext): { print: (line?: string) => void; lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    print: (line = '') => {
      lines.push(line);
      if (line.trim() !== '') t.diagnostic(line);
    },
  };
}

describe(`the quick bench (FLOTILLA_BENCH_SCALE=${SCALE}): figures in the log, outcomes asserted`, () => {
  it('microservices: every service Ready, by the operator and by the plain loop', { timeout: 300_000 }, async (t) => {
    const { print, lines } = printer(t);
    await microServiceBench({ cluster, client, scale: SCALE, print });
    assert.ok(
      lines.some((line) => /all Ready after \d/.test(line)),
      'the operator made every service Ready',
    );
  });

  it('rollouts: every promotion reached, every canary released, no weight on unready pods', {
    timeout: 300_000,
  }, async (t) => {
    const { print, lines } = printer(t);
    await rolloutBench({ cluster, client, scale: SCALE, print });
    assert.ok(
      lines.some((line) => /all released in \d/.test(line)),
      'every canary was released',
    );
    const unready = lines.filter((line) => /weight on unready pods, at each of/.test(line));
    assert.equal(unready.length, 2);
    for (const line of unready) assert.match(line, /at most 0 %$/, line);
  });
});
