// The operator as users run it: `node operator/src/main.ts run` (what `npm start` runs) as a child
// process, the shop samples applied, every service Ready, JSON logs with one logger per reconcile,
// no write while idle, and a graceful stop on SIGTERM.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { connectToCluster } from '../support/cluster.ts';
import { eventually } from '../support/eventually.ts';
import { ensureNamespace, installCrds } from './api-support.ts';
import {
  conditionOf,
  deleteShopNamespace,
  freshNamespace,
  SHOP_SERVICES,
  shopSamples,
  startOperator,
  writesSoFar,
} from './microservice-support.ts';

const cluster = await connectToCluster();
const namespace = freshNamespace('ms-operator');

describe('flotilla run', () => {
  let operator: ChildProcess | undefined;
  after(async () => {
    operator?.kill('SIGKILL');
    await deleteShopNamespace(cluster, namespace);
  });

  it('runs the shop samples to Ready, logs JSON, writes nothing while idle and stops on SIGTERM', {
    timeout: 180_000,
  }, async () => {
    await installCrds(cluster);
    await ensureNamespace(cluster, namespace);
    const started = await startOperator(cluster, namespace);
    operator = started.child;
    const { lines, raw, metricsUrl, exited } = started;

    await cluster.kubectl(['apply', '-f', '-'], {
      input: JSON.stringify({ kind: 'List', apiVersion: 'v1', items: shopSamples(namespace) }),
    });
    for (const name of SHOP_SERVICES) {
      await eventually(
        `${name} Ready`,
        async () => {
          assert.equal((await conditionOf(cluster, namespace, name, 'Ready'))?.status, 'True');
        },
        { timeoutMs: 60_000 },
      );
    }

    const reconcileLine = lines.find((line) => line.msg === 'applied child');
    assert.ok(reconcileLine, 'a reconcile logged what it applied');
    for (const field of ['kind', 'namespace', 'name', 'generation', 'reconcileId']) {
      assert.ok(field in reconcileLine, `reconcile log lines carry ${field}`);
    }
    assert.equal(reconcileLine.namespace, namespace);
    assert.ok(!raw.some((line) => /password|DATABASE_URL=|Bearer /i.test(line)), 'no credential in the logs');

    // Idle: once the HPAs and kwok have settled, no write for 10 seconds.
    await eventually(
      'idle',
      async () => {
        const before = await writesSoFar(metricsUrl);
        await new Promise((resolve) => setTimeout(resolve, 10_000));
        assert.equal(await writesSoFar(metricsUrl), before, 'writes while idle');
      },
      { timeoutMs: 90_000, intervalMs: 0 },
    );

    operator.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.ok(lines.some((line) => line.msg === 'stopped'));
  });
});
