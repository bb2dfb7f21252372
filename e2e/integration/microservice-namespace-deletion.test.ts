// Deleting a namespace full of services is not a failure: with the operator running, the shop's
// namespace (services, Rollouts, children) is deleted, and the operator neither warns nor errs
// about it (no warn or error log line naming the namespace: no retried apply refused with
// "being terminated", no ServiceNotFound for a Rollout whose service went first) while it goes.
// (No Event can be created in a namespace being deleted, so the log is where a flood shows.)
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { connectToCluster } from '../support/cluster.ts';
import { eventually } from '../support/eventually.ts';
import { ensureNamespace, installCrds } from './api-support.ts';
import {
  conditionOf,
  deleteShopNamespace,
  freshNamespace,
  type OperatorProcess,
  SHOP_SERVICES,
  shopSamples,
  startOperator,
} from './microservice-support.ts';

const cluster = await connectToCluster();
const namespace = freshNamespace('ns-deletion');

/** The shop without its databases: nothing outside Kubernetes, so no finalizer holds the namespace. */
function shopWithoutDatabases(): object[] {
  return shopSamples(namespace).map((doc) => {
    const object = doc as { kind: string; spec: Record<string, unknown> };
    if (object.kind !== 'MicroService') return object;
    const { database: _database, cache: _cache, ...spec } = object.spec;
    return { ...object, spec };
  });
}

describe('a namespace being deleted', () => {
  let operator: OperatorProcess | undefined;
  after(async () => {
    operator?.child.kill('SIGKILL');
    await deleteShopNamespace(cluster, namespace);
  });

  it('is no failure: no warn or error line about it while it goes', { timeout: 180_000 }, async () => {
    // Given the shop running in its namespace, with its Rollouts
    await installCrds(cluster);
    await ensureNamespace(cluster, namespace);
    operator = await startOperator(cluster, namespace);
    await cluster.kubectl(['apply', '-f', '-'], {
      input: JSON.stringify({ kind: 'List', apiVersion: 'v1', items: shopWithoutDatabases() }),
    });
    for (const name of SHOP_SERVICES) {
      await eventually(
        `${name} Ready`,
        async () => assert.equal((await conditionOf(cluster, namespace, name, 'Ready'))?.status, 'True'),
        { timeoutMs: 60_000 },
      );
    }
    const linesBefore = operator.lines.length;

    // When the namespace is deleted
    await cluster.kubectl(['delete', 'namespace', namespace, '--wait=true', '--timeout=120s']);
    await new Promise((resolve) => setTimeout(resolve, 2_000));

    // Then nothing was warned about or failed on its account
    const after = operator.lines.slice(linesBefore);
    // The reconciles' lines (reconcileId, key) and the Events' (reason); a watch's lines are not about
    // the deletion (other tests on the shared cluster may make the API server answer 429 meanwhile).
    const aboutReconciles = (line: Record<string, unknown>) =>
      'reconcileId' in line || 'key' in line || 'reason' in line;
    const complaints = after.filter(
      (line) => Number(line.level) >= 40 && aboutReconciles(line) && JSON.stringify(line).includes(namespace),
    );
    assert.deepEqual(complaints, [], 'no warn or error line about the namespace being deleted');
  });
});
