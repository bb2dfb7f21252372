import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MicroService } from '../api/microservice.ts';
import { configReferencesOf, digestConfigData } from '../desired/config-hash.ts';
import type { KubeObject } from '../kube/objects.ts';
import { ObjectCache } from './object-cache.ts';
import { DigestCache, ReferenceIndex } from './referenced-digests.ts';

// The MicroService's references to ConfigMaps and Secrets, as the operator wires them.
const newIndex = () => new ReferenceIndex<MicroService>((ms) => configReferencesOf(ms.spec));
const digestOf = (object: KubeObject) => digestConfigData(object as { data?: Record<string, string> });

const service = (name: string, configMap: string): MicroService => ({
  apiVersion: 'flotilla.dev/v1alpha1',
  kind: 'MicroService',
  metadata: { name, namespace: 'shop', resourceVersion: '1' },
  spec: { image: 'x:1', envFrom: [{ configMapRef: { name: configMap } }] },
});

const configMap = (
  name: string,
  value: string,
  resourceVersion = '1',
): KubeObject & { data: Record<string, string> } => ({
  metadata: { name, namespace: 'shop', resourceVersion },
  data: { key: value },
});

describe('ReferenceIndex', () => {
  it('follows the MicroService cache: who reads what, as services change and go', () => {
    const services = new ObjectCache<MicroService>();
    const index = newIndex();
    index.follow(services);
    services.upsert(service('orders', 'shared'));
    services.upsert(service('users', 'shared'));
    assert.deepEqual(index.referrersOf('ConfigMap', 'shop', 'shared').sort(), ['shop/orders', 'shop/users']);
    services.upsert({
      ...service('orders', 'own'),
      metadata: { name: 'orders', namespace: 'shop', resourceVersion: '2' },
    });
    assert.deepEqual(index.referrersOf('ConfigMap', 'shop', 'shared'), ['shop/users']);
    assert.deepEqual(index.referrersOf('ConfigMap', 'shop', 'own'), ['shop/orders']);
    services.remove(service('users', 'shared'));
    assert.deepEqual(index.referrersOf('ConfigMap', 'shop', 'shared'), []);
    assert.deepEqual(index.referrersOf('Secret', 'shop', 'own'), [], 'a Secret of that name is another object');
  });
});

describe('DigestCache', () => {
  const setup = () => {
    const services = new ObjectCache<MicroService>();
    const index = newIndex();
    index.follow(services);
    services.upsert(service('orders', 'app'));
    return new DigestCache('ConfigMap', index, digestOf);
  };

  it('keeps referenced objects as digests only, and drops the others on arrival', () => {
    const cache = setup();
    cache.upsert(configMap('app', 's3cret') as never);
    cache.upsert(configMap('unrelated', 'x') as never);
    assert.equal(cache.size, 1);
    const stored = cache.get('shop/app');
    assert.ok(stored && !JSON.stringify(stored).includes('s3cret'), 'no value is stored');
    assert.equal(cache.digest('shop', 'app')?.exists, true);
    assert.equal(cache.digest('shop', 'unrelated'), undefined);
  });

  it('remembers a referenced object deleted, and a GET never overwrites what the watch said', () => {
    const cache = setup();
    cache.upsert(configMap('app', 'new', '7') as never);
    const fromWatch = cache.digest('shop', 'app');
    cache.remember('shop', 'app', configMap('app', 'old', '6'));
    assert.deepEqual(cache.digest('shop', 'app'), fromWatch);
    cache.remove(configMap('app', 'new', '7'));
    assert.deepEqual(cache.digest('shop', 'app'), { exists: false });
    cache.remember('shop', 'later', undefined);
    assert.deepEqual(cache.digest('shop', 'later'), { exists: false });
    // A GET's answer is kept even before the index knows the reference (the service that asked does).
    cache.remember('shop', 'new-ref', configMap('new-ref', 'x'));
    assert.equal(cache.digest('shop', 'new-ref')?.exists, true);
  });
});
