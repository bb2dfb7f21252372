import assert from 'node:assert/strict';
import { it } from 'node:test';
import { externalRedis, parseRedisUrl } from './redis.ts';

it('parseRedisUrl reads an admin URL, decoding user and password', () => {
  assert.deepEqual(parseRedisUrl('redis://flotilla_admin:p%40ss%3Aword@127.0.0.1:6380'), {
    host: '127.0.0.1',
    port: 6380,
    username: 'flotilla_admin',
    password: 'p@ss:word',
  });
  assert.deepEqual(parseRedisUrl('redis://:pw@[::1]'), { host: '::1', port: 6379, password: 'pw' });
});

it('parseRedisUrl says what is wrong, without echoing the URL', () => {
  assert.throws(
    () => parseRedisUrl('not a url hunter2'),
    (e: Error) => /is not a URL/.test(e.message) && !e.message.includes('hunter2'),
  );
  assert.throws(() => parseRedisUrl('rediss://a:b@h:1'), /must start with redis:\/\//);
  assert.throws(() => parseRedisUrl('redis://admin@h:1'), /has no password/);
});

it('externalRedis is read from FLOTILLA_REDIS_URL only', () => {
  assert.equal(externalRedis({}), undefined);
  assert.equal(externalRedis({ FLOTILLA_REDIS_URL: 'redis://a:b@h:7000' })?.port, 7000);
});
