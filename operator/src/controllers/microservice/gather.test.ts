import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ObjectCache } from '../../runtime/object-cache.ts';
import { rolloutsOf } from './gather.ts';

describe('rolloutsOf', () => {
  const rollout = (name: string, service: string, created: string, namespace = 'shop') => ({
    apiVersion: 'flotilla.dev/v1alpha1',
    kind: 'Rollout',
    metadata: { name, namespace, creationTimestamp: created, resourceVersion: '1' },
    spec: { serviceRef: { name: service } },
  });
  it('the Rollouts naming a service, oldest first, then by name, whatever order they were cached in', () => {
    const cache = new ObjectCache();
    cache.upsert(rollout('zeta', 'orders', '2026-01-02T00:00:00Z'));
    cache.upsert(rollout('beta', 'orders', '2026-01-03T00:00:00Z'));
    cache.upsert(rollout('alpha', 'orders', '2026-01-02T00:00:00Z'));
    cache.upsert(rollout('other', 'payments', '2026-01-01T00:00:00Z'));
    cache.upsert(rollout('elsewhere', 'orders', '2026-01-01T00:00:00Z', 'staging'));
    assert.deepEqual(
      rolloutsOf(cache, 'shop', 'orders').map((r) => r.metadata.name),
      ['alpha', 'zeta', 'beta'],
    );
  });
});
