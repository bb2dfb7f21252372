// A reflector's watch ends by the API server's timeout (reconnect, no relist) or with 410 Gone
// (exactly one relist); either way the cache ends equal to a fresh LIST and every change made
// meanwhile is delivered.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createKubeClient, KubeClient, type WatchOptions } from '../../operator/src/kube/client.ts';
import type { KubeObject, ResourceType } from '../../operator/src/kube/objects.ts';
import { ObjectCache } from '../../operator/src/runtime/object-cache.ts';
import { Reflector } from '../../operator/src/runtime/reflector.ts';
import { connectToCluster } from '../support/cluster.ts';
import { eventually } from '../support/eventually.ts';
import { deleteCrd, ensureNamespace, installCrd, throwawayCrd } from './runtime-helpers.ts';

const cluster = await connectToCluster();
const namespace = 'runtime-relist';
// A kind of its own: its watch cache in the API server sees only this test's writes.
const gapWidgets = throwawayCrd('GapWidget', 'gapwidgets');

/** A client whose next watch waits while paused: the reflector is held between two watches. */
class PausableClient extends KubeClient {
  private gate: Promise<void> | undefined;
  private open: (() => void) | undefined;
  waiting = false;

  pause(): void {
    this.gate = new Promise((resolve) => {
      this.open = resolve;
    });
  }

  resume(): void {
    this.open?.();
    this.gate = undefined;
  }

  override async watch<T extends KubeObject = KubeObject>(type: ResourceType, options: WatchOptions) {
    if (this.gate) {
      this.waiting = true;
      await this.gate;
      this.waiting = false;
    }
    return super.watch<T>(type, options);
  }
}

const summary = (objects: KubeObject[]) =>
  objects.map((o) => `${o.metadata.name}@${o.metadata.resourceVersion}`).sort();

describe('reflector across broken watches', () => {
  let base: KubeClient;
  before(async () => {
    await ensureNamespace(cluster, namespace);
    await installCrd(cluster, gapWidgets.manifest);
    base = await createKubeClient(cluster.kubeConfig);
    await cluster.kubectl(['delete', 'gapwidgets', '--all', '-n', namespace, '--wait=false']);
  });
  after(async () => {
    await base.close();
    await deleteCrd(cluster, gapWidgets.manifest.metadata.name);
  });

  const widget = (name: string, size: number): KubeObject => ({ metadata: { name, namespace }, spec: { size } });

  async function startReflector(client: KubeClient) {
    const cache = new ObjectCache();
    const events: string[] = [];
    const ended: string[] = [];
    cache.subscribe((e) => events.push(`${e.type}:${e.object.metadata.name}`));
    const reflector = new Reflector({
      client,
      type: gapWidgets.type,
      cache,
      namespace,
      watchTimeoutSeconds: { min: 2, max: 3 },
      observer: { watchEnded: (_type, how) => ended.push(how) },
    });
    reflector.start();
    await reflector.waitForSync();
    return { cache, events, ended, reflector };
  }

  async function assertCacheEqualsList(cache: ObjectCache) {
    await eventually('the cache to equal a fresh LIST', async () => {
      const fresh = await base.list(gapWidgets.type, { namespace });
      assert.deepEqual(summary(cache.list()), summary(fresh.items));
    });
  }

  it('reconnects after server-side timeouts without relisting, missing no change', async () => {
    await base.apply(gapWidgets.type, widget('timeout-a', 1));
    const { cache, events, ended, reflector } = await startReflector(base);
    try {
      for (let i = 2; i <= 8; i++) {
        await base.apply(gapWidgets.type, widget('timeout-a', i));
        await base.apply(gapWidgets.type, widget(`timeout-${i}`, i));
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
      await assertCacheEqualsList(cache);
      assert.ok(ended.filter((how) => how === 'closed').length >= 2, `watches ended: ${ended.join(', ')}`);
      assert.equal(reflector.relists, 0);
      assert.equal(events.filter((e) => e === 'updated:timeout-a').length, 7);
      for (let i = 2; i <= 8; i++) assert.ok(events.includes(`added:timeout-${i}`));
    } finally {
      await reflector.stop();
    }
  });

  it('relists exactly once after 410 Gone, and delivers every change made in the gap', {
    timeout: 240_000,
  }, async () => {
    for (const name of ['gap-keep', 'gap-change', 'gap-delete']) await base.apply(gapWidgets.type, widget(name, 1));
    const client = new PausableClient(base.transport);
    const { cache, events, ended, reflector } = await startReflector(client);
    try {
      client.pause();
      await eventually('the reflector to wait between two watches', () => assert.ok(client.waiting), {
        timeoutMs: 10_000,
      });
      events.length = 0;
      // Changes the reflector does not see while paused.
      await base.apply(gapWidgets.type, widget('gap-change', 2));
      await base.delete(gapWidgets.type, 'gap-delete', namespace);
      await base.apply(gapWidgets.type, widget('gap-new', 1));
      // The API server's watch cache keeps ~100 events of a kind and drops those older than 75 s
      // first: after 76 s, 150 more writes push the reflector's resourceVersion out of it.
      await new Promise((resolve) => setTimeout(resolve, 76_000));
      await base.apply(gapWidgets.type, widget('gap-filler', 0));
      for (let i = 1; i <= 150; i++) await base.apply(gapWidgets.type, widget('gap-filler', i));
      client.resume();
      await assertCacheEqualsList(cache);
      assert.ok(ended.includes('gone'), `watches ended: ${ended.join(', ')}`);
      assert.equal(reflector.relists, 1);
      assert.deepEqual(events.filter((e) => !e.endsWith(':gap-filler')).sort(), [
        'added:gap-new',
        'deleted:gap-delete',
        'updated:gap-change',
      ]);
      assert.ok(events.includes('added:gap-filler'));
    } finally {
      await reflector.stop();
    }
  });
});
