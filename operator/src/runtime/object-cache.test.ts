import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { settle } from '../common/fake-clock.ts';
import type { KubeObject } from '../kube/objects.ts';
import { type CacheEvent, ObjectCache } from './object-cache.ts';

const object = (
  name: string,
  resourceVersion: string,
  extra: Partial<KubeObject['metadata']> = {},
  namespace = 'shop',
): KubeObject => ({ metadata: { name, namespace, resourceVersion, ...extra } });

describe('ObjectCache', () => {
  it('strips managedFields on ingest and freezes what it stores (row 8)', () => {
    const cache = new ObjectCache();
    cache.upsert(object('a', '1', { managedFields: [{ manager: 'kubectl' }], labels: { app: 'a' } }));
    const stored = cache.get('shop/a');
    assert.ok(stored);
    assert.equal(stored.metadata.managedFields, undefined);
    assert.ok(Object.isFrozen(stored.metadata.labels));
    assert.throws(() => {
      (stored.metadata as { name: string }).name = 'b';
    });
  });

  it('keeps only the projection of each object when given one, and still skips an unchanged resourceVersion', () => {
    const project = (o: KubeObject): KubeObject => ({ metadata: o.metadata, spec: { kept: true } });
    const cache = new ObjectCache({ project });
    const events: CacheEvent[] = [];
    cache.subscribe((event) => events.push(event));
    cache.upsert({ ...object('a', '1'), spec: { large: 'x'.repeat(1000) } });
    cache.upsert({ ...object('a', '1'), spec: { large: 'y' } });
    assert.deepEqual(cache.get('shop/a')?.spec, { kept: true });
    assert.equal(events.length, 1, 'the same resourceVersion again is no event');
    assert.deepEqual(events[0]?.object.spec, { kept: true }, 'listeners see what is kept');
  });

  it('get and list return the stored objects, not copies', () => {
    const cache = new ObjectCache();
    const a = object('a', '1');
    cache.upsert(a);
    assert.equal(cache.get('shop/a'), a);
    assert.equal(cache.list()[0], a);
  });

  it('indexes by namespace, labels and owner, and keeps the indexes right across updates', () => {
    const cache = new ObjectCache();
    const owner = { apiVersion: 'flotilla.dev/v1alpha1', kind: 'MicroService', name: 'orders', uid: 'u1' };
    cache.upsert(object('orders', '1', { labels: { app: 'orders', tier: 'web' }, ownerReferences: [owner] }));
    cache.upsert(object('users', '1', { labels: { app: 'users', tier: 'web' } }));
    cache.upsert(object('users', '1', { labels: { app: 'users' } }, 'other'));
    const names = (list: KubeObject[]) => list.map((o) => `${o.metadata.namespace}/${o.metadata.name}`).sort();
    assert.deepEqual(names(cache.list({ labels: { tier: 'web' } })), ['shop/orders', 'shop/users']);
    assert.deepEqual(names(cache.list({ namespace: 'other' })), ['other/users']);
    assert.deepEqual(names(cache.list({ namespace: 'shop', labels: { app: 'users' } })), ['shop/users']);
    assert.deepEqual(names(cache.listOwnedBy('u1')), ['shop/orders']);
    cache.upsert(object('orders', '2', { labels: { app: 'orders' } }));
    assert.deepEqual(names(cache.list({ labels: { tier: 'web' } })), ['shop/users']);
    assert.deepEqual(cache.listOwnedBy('u1'), []);
    cache.remove(object('users', '1'));
    assert.deepEqual(cache.list({ labels: { tier: 'web' } }), []);
  });

  it('replace emits exactly the differences to a fresh list', () => {
    const cache = new ObjectCache();
    cache.replace([object('a', '1'), object('b', '1'), object('c', '1')]);
    const events: string[] = [];
    cache.subscribe((e: CacheEvent) => events.push(`${e.type}:${e.object.metadata.name}`));
    cache.replace([object('a', '1'), object('b', '2'), object('d', '1')]);
    assert.deepEqual(events.sort(), ['added:d', 'deleted:c', 'updated:b']);
    assert.deepEqual([...cache.keys()].sort(), ['shop/a', 'shop/b', 'shop/d']);
  });

  it('an update with the same resourceVersion is no event', () => {
    const cache = new ObjectCache();
    let events = 0;
    cache.subscribe(() => events++);
    cache.upsert(object('a', '1'));
    cache.upsert(object('a', '1'));
    assert.equal(events, 1);
  });

  it('a listener that throws or rejects does not break ingest or crash the process (row 7)', async () => {
    const errors: unknown[] = [];
    const cache = new ObjectCache({ onListenerError: (error) => errors.push(error) });
    cache.subscribe(() => {
      throw new Error('sync');
    });
    cache.subscribe((async () => {
      throw new Error('async');
    }) as unknown as () => void);
    let seen = 0;
    cache.subscribe(() => seen++);
    cache.upsert(object('a', '1'));
    await settle();
    assert.equal(seen, 1);
    assert.equal(cache.size, 1);
    assert.deepEqual(
      errors.map((e) => (e as Error).message),
      ['sync', 'async'],
    );
  });
});
