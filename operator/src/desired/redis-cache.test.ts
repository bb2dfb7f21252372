import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { computeCacheUser } from '../database/cache-user.ts';
import { childMeta } from './meta.ts';
import { buildCacheEnv, buildCacheSecret, cacheSecretName } from './redis-cache.ts';
import { type Modifier, microService, withEnv } from './testing.ts';

const withCache: Modifier = (ms) => {
  ms.spec.cache = { serverRef: 'redis-main' };
};

describe('buildCacheEnv', () => {
  it('gives nothing to a service without a cache', () => {
    assert.deepEqual(buildCacheEnv('orders', microService('orders').spec), []);
  });

  it('reads REDIS_URL and REDIS_KEY_PREFIX from the Secret <name>-cache', () => {
    assert.deepEqual(buildCacheEnv('orders', microService('orders', withCache).spec), [
      { name: 'REDIS_URL', valueFrom: { secretKeyRef: { name: 'orders-cache', key: 'REDIS_URL' } } },
      { name: 'REDIS_KEY_PREFIX', valueFrom: { secretKeyRef: { name: 'orders-cache', key: 'keyPrefix' } } },
    ]);
  });

  it('leaves a variable the user sets by hand alone', () => {
    const ms = microService('orders', withCache, withEnv({ name: 'REDIS_URL', value: 'redis://elsewhere:6379' }));
    assert.deepEqual(
      buildCacheEnv('orders', ms.spec, [{ name: 'REDIS_URL', value: 'redis://elsewhere:6379' }]).map((e) => e.name),
      ['REDIS_KEY_PREFIX'],
    );
  });
});

it('buildCacheSecret writes the credentials, base64, into the Secret <name>-cache owned by the service', () => {
  const ms = microService('orders', withCache);
  const user = computeCacheUser('shop', 'orders');
  const secret = buildCacheSecret(ms, { host: 'redis.databases.svc', port: 6379, password: 'pw', ...user });
  assert.equal(cacheSecretName('orders'), 'orders-cache');
  assert.deepEqual(secret.metadata, childMeta(ms, 'orders-cache'));
  const decoded = Object.fromEntries(
    Object.entries(secret.data).map(([key, value]) => [key, Buffer.from(value, 'base64').toString()]),
  );
  assert.deepEqual(decoded, {
    REDIS_URL: 'redis://shop.orders:pw@redis.databases.svc:6379',
    host: 'redis.databases.svc',
    port: '6379',
    username: 'shop.orders',
    password: 'pw',
    keyPrefix: 'shop:orders:',
  });
});
