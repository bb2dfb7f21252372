// The MicroService reconciler against the real API server: one MicroService in, its children and
// status out; ownership and cascade; nothing written twice.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connectToCluster } from '../support/cluster.ts';
import { eventually } from '../support/eventually.ts';
import {
  conditionOf,
  eventsFor,
  exists,
  freshNamespace,
  getJson,
  kubectlApply,
  microServiceManifest,
  useControllerIn,
} from './microservice-support.ts';

const cluster = await connectToCluster();
const namespace = freshNamespace('ms-reconcile');

interface Child {
  metadata: {
    uid: string;
    resourceVersion: string;
    labels?: Record<string, string>;
    ownerReferences?: { kind: string; name: string; uid: string; controller?: boolean }[];
  };
  spec: Record<string, unknown>;
}

describe('MicroService reconciler', () => {
  const running = useControllerIn(cluster, namespace);

  it('creates Deployment, Service, HPA and NetworkPolicy, owned and labelled, and reports Ready', {
    timeout: 120_000,
  }, async () => {
    await kubectlApply(
      cluster,
      microServiceManifest(namespace, 'orders', {
        image: 'registry.example.com/shop/orders:1.0.0',
        ports: [{ name: 'http', port: 80, targetPort: 8080 }],
        autoscaling: { minReplicas: 2, maxReplicas: 5 },
        dependsOn: ['payments'],
        expose: { gateway: 'istio-system/public', hosts: ['api.example.com'], pathPrefix: '/orders' },
      }),
    );
    const ms = await getJson<{ metadata: { uid: string } }>(cluster, ['-n', namespace, 'microservice', 'orders']);
    for (const kind of ['deployment', 'service', 'horizontalpodautoscaler', 'networkpolicy']) {
      await eventually(`${kind} orders`, async () => {
        const child = await getJson<Child>(cluster, ['-n', namespace, kind, 'orders']);
        assert.equal(child.metadata.labels?.['app.kubernetes.io/managed-by'], 'flotilla');
        assert.deepEqual(
          child.metadata.ownerReferences?.map((o) => [o.kind, o.name, o.uid, o.controller]),
          [['MicroService', 'orders', ms.metadata.uid, true]],
        );
      });
    }
    const deployment = await getJson<Child>(cluster, ['-n', namespace, 'deployment', 'orders']);
    assert.equal(deployment.spec.replicas !== undefined, true, 'the API server defaults replicas; the HPA owns it');
    await eventually(
      'Ready',
      async () => {
        const ready = await conditionOf(cluster, namespace, 'orders', 'Ready');
        assert.equal(ready?.status, 'True', JSON.stringify(ready));
      },
      { timeoutMs: 45_000 },
    );
    await eventually(
      'the HPA scales to minReplicas and kwok makes both pods Ready',
      async () => {
        const ms = await getJson<{ status: { readyReplicas?: number } }>(cluster, [
          '-n',
          namespace,
          'microservice',
          'orders',
        ]);
        assert.equal(ms.status.readyReplicas, 2);
        const ready = await conditionOf(cluster, namespace, 'orders', 'Ready');
        assert.equal(ready?.status, 'True', JSON.stringify(ready));
      },
      { timeoutMs: 60_000 },
    );
    const status = await getJson<{ metadata: { generation: number }; status: Record<string, unknown> }>(cluster, [
      '-n',
      namespace,
      'microservice',
      'orders',
    ]);
    assert.equal(status.status.observedGeneration, status.metadata.generation);
    assert.equal(status.status.url, 'http://api.example.com/orders');
    assert.equal(status.status.selector, 'app.kubernetes.io/name=orders,app.kubernetes.io/instance=orders');
    assert.match(String(status.status.currentRevision), /^[0-9a-f]{10}$/);
    const degraded = await conditionOf(cluster, namespace, 'orders', 'Degraded');
    assert.equal(degraded?.status, 'False');
    const applies = running()
      .writesTo(`/namespaces/${namespace}/`)
      .filter((r) => r.verb === 'APPLY');
    assert.ok(applies.length >= 5, 'four children and the status, server-side applied');
    for (const request of applies) {
      assert.deepEqual(request.query, { fieldManager: 'flotilla', force: true }, request.path);
    }
    const created = await eventsFor(cluster, namespace, 'orders', 'Created');
    assert.ok(created.length >= 1, 'a Created Event');
  });

  it('a second reconcile of an unchanged MicroService writes nothing', { timeout: 30_000 }, async () => {
    const before = running().writesTo(`/namespaces/${namespace}/`).length;
    const rvs = await Promise.all(
      ['deployment', 'service', 'horizontalpodautoscaler', 'networkpolicy', 'microservice'].map(
        async (kind) => (await getJson<Child>(cluster, ['-n', namespace, kind, 'orders'])).metadata.resourceVersion,
      ),
    );
    running().controller.queue.add(`${namespace}/orders`);
    running().controller.queue.add(`${namespace}/orders`);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const writes = running().writesTo(`/namespaces/${namespace}/`).slice(before);
    assert.deepEqual(writes, [], 'no write request');
    const after = await Promise.all(
      ['deployment', 'service', 'horizontalpodautoscaler', 'networkpolicy', 'microservice'].map(
        async (kind) => (await getJson<Child>(cluster, ['-n', namespace, kind, 'orders'])).metadata.resourceVersion,
      ),
    );
    // The Deployment's status may still be settling (kwok); our own objects must be unchanged.
    assert.deepEqual(after.slice(1), rvs.slice(1));
  });

  it('deleting the MicroService deletes every child (owner references)', { timeout: 60_000 }, async () => {
    await kubectlApply(
      cluster,
      microServiceManifest(namespace, 'doomed', {
        image: 'registry.example.com/shop/doomed:1.0.0',
        ports: [{ name: 'http', port: 80 }],
      }),
    );
    await eventually('children of doomed', async () => {
      for (const kind of ['deployment', 'service', 'networkpolicy']) {
        assert.ok(await exists(cluster, ['-n', namespace, kind, 'doomed']), kind);
      }
    });
    await cluster.kubectl(['-n', namespace, 'delete', 'microservice', 'doomed', '--wait=true']);
    await eventually(
      'children gone',
      async () => {
        for (const kind of ['deployment', 'service', 'networkpolicy']) {
          assert.equal(await exists(cluster, ['-n', namespace, kind, 'doomed']), false, kind);
        }
      },
      { timeoutMs: 45_000 },
    );
  });
});
