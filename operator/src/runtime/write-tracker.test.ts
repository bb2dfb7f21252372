import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../kube/objects.ts';
import { ObjectCache } from './object-cache.ts';
import { WriteTracker } from './write-tracker.ts';

const service = (resourceVersion: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: {
    name: 'users',
    namespace: 'shop',
    resourceVersion,
    ownerReferences: [
      { apiVersion: 'flotilla.dev/v1alpha1', kind: 'MicroService', name: 'users', uid: 'u1', controller: true },
    ],
  },
});

describe('WriteTracker', () => {
  it('shows our write until the cache catches up with it', () => {
    const tracker = new WriteTracker();
    const cache = new ObjectCache();
    cache.upsert(service('9'));
    const fresh = tracker.fresh(cache, 'Service');
    tracker.wrote(service('10'), 'Service');
    assert.equal(fresh.get('shop/users')?.metadata.resourceVersion, '10');
    assert.deepEqual(
      fresh.list({ namespace: 'shop' }).map((s) => s.metadata.resourceVersion),
      ['10'],
    );
    assert.deepEqual(
      fresh.listOwnedBy('u1').map((s) => s.metadata.resourceVersion),
      ['10'],
    );
    cache.upsert(service('10'));
    tracker.observe({ type: 'updated', object: service('10') }, 'Service');
    assert.deepEqual(tracker.writtenOwnedBy('u1'), []);
    cache.upsert(service('11'));
    assert.equal(fresh.get('shop/users')?.metadata.resourceVersion, '11', 'a newer object in the cache wins');
  });

  it('forgets a write when the object is deleted, and remembers that someone else deleted it', () => {
    const tracker = new WriteTracker();
    tracker.wrote(service('10'), 'Service');
    tracker.observe({ type: 'deleted', object: service('12') }, 'Service');
    assert.deepEqual(tracker.writtenOwnedBy('u1'), []);
    assert.deepEqual([...tracker.deletedByOthersIn('shop')], ['Service/users']);
  });

  it('does not bring back a deleted object when the answer to an older write arrives after the deletion', () => {
    const tracker = new WriteTracker();
    tracker.observe({ type: 'deleted', object: service('12') }, 'Service');
    tracker.wrote(service('11'), 'Service');
    assert.deepEqual(tracker.writtenOwnedBy('u1'), [], 'the late answer is older than the deletion');
    assert.equal(tracker.fresh(undefined, 'Service').get('shop/users'), undefined);
    tracker.wrote(service('13'), 'Service');
    assert.equal(tracker.writtenOwnedBy('u1').length, 1, 'a write after the deletion (a restore) counts');
  });
});
