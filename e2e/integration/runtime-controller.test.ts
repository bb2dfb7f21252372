// The controller runtime against the real API server: watch → cache → queue → reconcile.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { createKubeClient, type KubeClient } from '../../operator/src/kube/client.ts';
import { configMapType, type KubeObject, secretType } from '../../operator/src/kube/objects.ts';
import { Controller, controllerOwnerKeys, type Reconciler } from '../../operator/src/runtime/controller.ts';
import { connectToCluster } from '../support/cluster.ts';
import { eventually } from '../support/eventually.ts';
import { deleteCrd, ensureNamespace, installCrd, throwawayCrd, uniqueName } from './runtime-helpers.ts';

const cluster = await connectToCluster();
const namespace = 'runtime-controller';
const logger = pino({ level: process.env.LOG_LEVEL ?? 'silent' });

describe('controller', () => {
  let client: KubeClient;
  const running: Controller[] = [];
  const startController = (reconcile: Reconciler, options: { concurrency?: number } = {}) => {
    const controller = new Controller({
      client,
      primary: configMapType,
      namespace,
      concurrency: options.concurrency ?? 2,
      reconcile,
      logger,
    });
    running.push(controller);
    return controller;
  };
  before(async () => {
    await ensureNamespace(cluster, namespace);
    client = await createKubeClient(cluster.kubeConfig);
  });
  after(async () => {
    await Promise.all(running.map((controller) => controller.stop()));
    await client.close();
  });

  const configMap = (name: string, data: Record<string, string> = {}): KubeObject => ({
    metadata: { name, namespace, labels: { test: 'runtime-controller' } },
    data,
  });

  it('reconciles an object created after start, with the cached object in hand', async () => {
    const seen = new Map<string, KubeObject | undefined>();
    const controller = startController(async (key, { object }) => void seen.set(key, object));
    await controller.start();
    const name = uniqueName('created');
    await client.apply(configMapType, configMap(name, { a: '1' }));
    await eventually('the reconcile of the new ConfigMap', () => {
      assert.deepEqual(seen.get(`${namespace}/${name}`)?.data, { a: '1' });
    });
    await controller.stop();
  });

  it('a key enqueued 1,000 times while busy is reconciled once more; two workers never hold one key', async () => {
    const name = uniqueName('busy');
    const key = `${namespace}/${name}`;
    let runs = 0;
    let holding = 0;
    let overlapped = false;
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let busy: () => void = () => {};
    const isBusy = new Promise<void>((resolve) => {
      busy = resolve;
    });
    const controller = startController(
      async (k) => {
        if (k !== key) return;
        runs++;
        holding++;
        if (holding > 1) overlapped = true;
        busy();
        await released;
        holding--;
      },
      { concurrency: 8 },
    );
    await client.apply(configMapType, configMap(name));
    await controller.start();
    await isBusy;
    for (let i = 0; i < 1000; i++) controller.queue.add(key);
    release();
    await eventually('the second run', () => assert.equal(runs, 2));
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(runs, 2);
    assert.equal(overlapped, false);
    await controller.stop();
  });

  it('retries a reconcile that throws with growing delays, and succeeds once the cause is gone', async () => {
    const name = uniqueName('retry');
    const dependency = `${name}-dependency`;
    const key = `${namespace}/${name}`;
    const attempts: number[] = [];
    let succeededAt: number | undefined;
    const controller = startController(async (k) => {
      if (k !== key) return;
      attempts.push(performance.now());
      await client.get(configMapType, dependency, namespace); // throws NotFound until it exists
      succeededAt = performance.now();
    }, {});
    await client.apply(configMapType, configMap(name));
    await controller.start();
    // Nine attempts: the later delays (320 ms, 640 ms) dwarf a request's latency under load.
    await eventually('nine failed attempts', () => assert.ok(attempts.length >= 9), { timeoutMs: 15_000 });
    assert.equal(succeededAt, undefined);
    // The per-key backoff doubles from 5 ms: each gap is at least 5·2^i ms (plus the request's time).
    const gaps = attempts.slice(1).map((t, i) => t - (attempts[i] ?? 0));
    const shown = gaps.map((g) => g.toFixed(0)).join(', ');
    for (const [i, gap] of gaps.entries()) {
      assert.ok(gap >= 5 * 2 ** i - 1, `gap ${i} is at least ${5 * 2 ** i} ms: ${shown}`);
    }
    assert.ok((gaps.at(-1) ?? 0) > 4 * (gaps[0] ?? 0), `delays grow: ${shown} ms`);
    await client.create(configMapType, configMap(dependency));
    await eventually('the successful retry', () => assert.ok(succeededAt), { timeoutMs: 20_000 });
    await controller.stop();
  });

  it('picks up a kind whose CRD is installed after start-up', async () => {
    const late = throwawayCrd('LateWidget', 'latewidgets');
    await deleteCrd(cluster, late.manifest.metadata.name);
    await eventually('the old CRD to be gone', async () => {
      await assert.rejects(cluster.kubectl(['get', 'crd', late.manifest.metadata.name]));
    });
    const seen: string[] = [];
    const controller = new Controller({
      client,
      primary: late.type,
      namespace,
      reconcile: async (key) => void seen.push(key),
      logger,
    });
    running.push(controller);
    const started = controller.start();
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const [health] = controller.health();
    assert.equal(health?.synced, false);
    assert.match(health?.lastError ?? '', /404/);
    try {
      await installCrd(cluster, late.manifest);
      const name = uniqueName('late');
      await client.apply(late.type, { metadata: { name, namespace }, spec: { size: 1 } });
      await started;
      await eventually('the reconcile of the late kind', () => assert.ok(seen.includes(`${namespace}/${name}`)), {
        timeoutMs: 45_000,
      });
    } finally {
      await controller.stop();
      await deleteCrd(cluster, late.manifest.metadata.name);
    }
  });

  it('a change to an owned child re-queues its owner; only labelled children are cached (row 8)', async () => {
    const owner = await client.apply(configMapType, configMap(uniqueName('owner')));
    const ownerKey = `${namespace}/${owner.metadata.name}`;
    const reconciled: string[] = [];
    const managedBy = 'app.kubernetes.io/managed-by';
    const controller = new Controller({
      client,
      primary: configMapType,
      secondary: [
        { type: secretType, labelSelector: `${managedBy}=flotilla`, keysFor: controllerOwnerKeys('ConfigMap') },
      ],
      namespace,
      logger,
      reconcile: async (key) => void reconciled.push(key),
    });
    running.push(controller);
    await controller.start();
    await eventually('the first reconcile of the owner', () => assert.ok(reconciled.includes(ownerKey)));
    const ownerReferences = [
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        name: owner.metadata.name ?? '',
        uid: owner.metadata.uid ?? '',
        controller: true,
      },
    ];
    const child = uniqueName('child');
    await client.apply(secretType, {
      metadata: { name: child, namespace, labels: { [managedBy]: 'flotilla' }, ownerReferences },
      stringData: { a: '1' },
    });
    await client.apply(secretType, { metadata: { name: `${child}-unlabelled`, namespace, ownerReferences } });
    reconciled.length = 0;
    await client.mergePatch(secretType, child, namespace, { stringData: { a: '2' } });
    await eventually('the owner re-queued by its child', () => assert.ok(reconciled.includes(ownerKey)));
    const secrets = controller.cache(secretType);
    assert.ok(secrets.get(`${namespace}/${child}`));
    assert.equal(secrets.get(`${namespace}/${child}-unlabelled`), undefined);
    assert.deepEqual(
      secrets.listOwnedBy(owner.metadata.uid ?? '').map((s) => s.metadata.name),
      [child],
    );
    await controller.stop();
  });
});
