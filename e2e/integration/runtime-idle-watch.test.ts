// Row 1 of KUBERNETES-CLIENT.md: the library's informer drops an idle watch after 30 s and waits
// before reconnecting, so the first edit after a quiet spell can be ~30 s late. Ours keeps the
// watch open (server-side timeout 5-10 min) and sees that edit at once.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { createKubeClient, type KubeClient } from '../../operator/src/kube/client.ts';
import { configMapType } from '../../operator/src/kube/objects.ts';
import { Controller } from '../../operator/src/runtime/controller.ts';
import { connectToCluster } from '../support/cluster.ts';
import { eventually } from '../support/eventually.ts';
import { ensureNamespace, uniqueName } from './runtime-helpers.ts';

const cluster = await connectToCluster();
const namespace = 'runtime-idle-watch';

describe('an idle watch', () => {
  let client: KubeClient;
  before(async () => {
    await ensureNamespace(cluster, namespace);
    client = await createKubeClient(cluster.kubeConfig);
  });
  after(() => client.close());

  it('delivers an edit made after 45 s of silence to the reconciler within 1 s', async () => {
    const name = uniqueName('idle');
    const key = `${namespace}/${name}`;
    const reconciledAt = new Map<string, number>();
    const controller = new Controller({
      client,
      primary: configMapType,
      namespace,
      logger: pino({ level: process.env.LOG_LEVEL ?? 'silent' }),
      reconcile: async (k, { object }) => {
        if (k === key) reconciledAt.set(String(object?.data && (object.data as { v: string }).v), performance.now());
      },
    });
    try {
      await client.apply(configMapType, { metadata: { name, namespace }, data: { v: 'before' } });
      await controller.start();
      await eventually('the first reconcile', () => assert.ok(reconciledAt.has('before')));
      await new Promise((resolve) => setTimeout(resolve, 45_000));
      const editedAt = performance.now();
      await client.apply(configMapType, { metadata: { name, namespace }, data: { v: 'after' } });
      await eventually('the reconcile of the edit', () => assert.ok(reconciledAt.has('after')), {
        timeoutMs: 40_000,
        intervalMs: 10,
      });
      const latency = (reconciledAt.get('after') ?? Number.POSITIVE_INFINITY) - editedAt;
      assert.ok(latency < 1_000, `edit reached the reconciler after ${latency.toFixed(0)} ms`);
    } finally {
      await controller.stop();
    }
  });
});
