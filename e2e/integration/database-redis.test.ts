// The cache engine on a real Redis (the private one on 127.0.0.1:16379, or FLOTILLA_REDIS_URL): ACL users
// limited to their service's key prefix, made idempotently, dropped cleanly, never leaking a password.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import {
  buildRedisUrl,
  CACHE_OWNERS_KEY,
  type CacheEngine,
  type CacheOwner,
  type CacheRequest,
  computeCacheUser,
  connectRedis,
  connectRedisUrl,
  createRedisEngine,
  generatePassword,
  InvalidIdentifierError,
  OwnershipConflictError,
  type RedisAdminConnection,
} from '../../operator/src/database/index.ts';
import { redisServer } from '../databases/redis.ts';

// Namespaces of this run only, so parallel and repeated runs never collide.
const run = `flt-${randomBytes(4).toString('hex')}`;
/** A key outside every service's prefix. */
const global = `${run}-global`;

function service(name: string, namespace = run): CacheRequest & CacheOwner {
  return { ...computeCacheUser(namespace, name), password: generatePassword(), owner: `${namespace}/${name}` };
}

describe('cache users on a real Redis', () => {
  let admin: RedisAdminConnection;
  let cache: CacheEngine;
  const opened: Redis[] = [];
  const made: (CacheRequest & CacheOwner)[] = [];
  const handMade: CacheRequest[] = [];

  /** An ACL user made by hand with the name a MicroService would get, and a key of its data. */
  async function makeByHand(name: string): Promise<{ request: CacheRequest; snapshot: () => Promise<unknown> }> {
    const request = { ...computeCacheUser(run, name), password: `dba-${randomBytes(6).toString('hex')}` };
    handMade.push(request);
    const root = await adminClient();
    await root.call('ACL', 'SETUSER', request.username, 'on', `>${request.password}`, '~*', '+get', '+set');
    await root.set(`${request.keyPrefix}card`, '4111 1111 1111 1111');
    const snapshot = async () => ({
      user: await root.call('ACL', 'GETUSER', request.username),
      mark: await root.call('HGET', CACHE_OWNERS_KEY, request.username),
      data: await root.get(`${request.keyPrefix}card`),
    });
    return { request, snapshot };
  }

  /** A client logged in as the service, through the REDIS_URL its Secret would hold. */
  async function connectAs(request: CacheRequest, password = request.password): Promise<Redis> {
    // Through the URL, as a service reads it: ioredis parses it the same way.
    const url = buildRedisUrl({ host: admin.host, port: admin.port, username: request.username, password });
    const client = await connectRedisUrl(url, { connectionName: 'service' });
    opened.push(client);
    return client;
  }

  async function ensure(request: CacheRequest & CacheOwner) {
    made.push(request);
    return cache.ensureCacheUser(request);
  }

  /** The admin's own connection, to look at the server directly. */
  async function adminClient(): Promise<Redis> {
    const client = await connectRedis({ ...admin });
    opened.push(client);
    return client;
  }

  before(async () => {
    admin = await redisServer();
    cache = createRedisEngine(admin);
  });

  after(async () => {
    try {
      for (const request of made) await cache?.dropCacheUser(request, { purgeKeys: true, owner: request.owner });
      if (admin) {
        // What the tenancy tests made by hand (not Flotilla's: dropCacheUser leaves it).
        const root = await adminClient();
        for (const user of handMade) {
          await root.call('ACL', 'DELUSER', user.username);
          await root.call('HDEL', CACHE_OWNERS_KEY, user.username);
          const keys = await root.keys(`${user.keyPrefix}*`);
          if (keys.length > 0) await root.del(...keys);
        }
      }
      if (admin) await (await adminClient()).del(global);
    } finally {
      for (const client of opened) client.disconnect();
      await cache?.close();
    }
  });

  it('reports the server version and that the admin can manage ACL users', async () => {
    const check = await cache.checkConnection();
    assert.equal(check.ok, true, JSON.stringify(check));
    assert.ok(check.ok && /^\d+\.\d+/.test(check.serverVersion), 'a version such as 7.0.15');
  });

  it('creates the user once; a second call changes nothing', async () => {
    const orders = service('orders');
    assert.deepEqual(await ensure(orders), { actions: ['SetUser'] });
    const root = await adminClient();
    const before = await root.call('ACL', 'GETUSER', orders.username);
    assert.deepEqual(await ensure(orders), { actions: [] });
    assert.deepEqual(await root.call('ACL', 'GETUSER', orders.username), before);
  });

  it('lets the service SET and GET under its prefix, publish on its channels, and run a script on its keys', async () => {
    const orders = service('orders-rw');
    await ensure(orders);
    const client = await connectAs(orders);
    const key = `${orders.keyPrefix}cart:42`;
    assert.equal(await client.set(key, 'three apples', 'EX', 60), 'OK');
    assert.equal(await client.get(key), 'three apples');
    assert.equal(await client.incr(`${orders.keyPrefix}counter`), 1);
    assert.equal(await client.publish(`${orders.keyPrefix}events`, 'hello'), 0);
    assert.equal(await client.eval('return redis.call("GET", KEYS[1])', 1, key), 'three apples');
    assert.equal(await client.call('ACL', 'WHOAMI'), orders.username);
  });

  it('keeps the service out of another service’s keys and channels', async () => {
    const a = service('billing');
    const b = service('billing-v2');
    await ensure(a);
    await ensure(b);
    const root = await adminClient();
    await root.set(`${b.keyPrefix}secret`, 'b data');
    await root.set(global, 'global');
    const client = await connectAs(a);
    for (const key of [`${b.keyPrefix}secret`, global, `${run}:billing`, `${run}:billing-v2:x`]) {
      await assert.rejects(client.get(key), /NOPERM/, `GET ${key}`);
      await assert.rejects(client.set(key, 'x'), /NOPERM/, `SET ${key}`);
    }
    await assert.rejects(client.del(`${b.keyPrefix}secret`), /NOPERM/);
    await assert.rejects(client.rename(`${a.keyPrefix}x`, `${b.keyPrefix}x`), /NOPERM/);
    await assert.rejects(client.publish(`${b.keyPrefix}events`, 'x'), /NOPERM/);
    await assert.rejects(client.subscribe(`${b.keyPrefix}events`), /NOPERM/);
    await assert.rejects(
      client.eval('return redis.call("GET", KEYS[1])', 1, `${b.keyPrefix}secret`),
      /NOPERM|can't access/,
    );
    // A script naming the key only inside its body is checked too.
    await assert.rejects(client.eval(`return redis.call("GET", "${b.keyPrefix}secret")`, 0), /NOPERM|can't access/);
    assert.equal(await root.get(`${b.keyPrefix}secret`), 'b data', 'b’s data is untouched');
  });

  it('refuses admin and dangerous commands, and those that would list other services’ keys', async () => {
    const orders = service('orders-admin');
    await ensure(orders);
    const client = await connectAs(orders);
    const refused: [string, ...string[]][] = [
      ['FLUSHALL'],
      ['FLUSHDB'],
      ['KEYS', '*'],
      ['SCAN', '0'],
      ['RANDOMKEY'],
      ['DBSIZE'],
      ['CONFIG', 'GET', '*'],
      ['CONFIG', 'SET', 'maxmemory', '1'],
      ['ACL', 'SETUSER', orders.username, '~*'],
      ['ACL', 'LIST'],
      ['ACL', 'DELUSER', 'flotilla_admin'],
      ['INFO'],
      ['CLIENT', 'LIST'],
      ['MONITOR'],
      ['SLOWLOG', 'GET'],
      ['LATENCY', 'LATEST'],
      ['BGSAVE'],
      ['MIGRATE', '127.0.0.1', '1', `${orders.keyPrefix}k`, '0', '1000'],
      ['SORT', `${orders.keyPrefix}list`, 'BY', 'nosort', 'GET', '*'],
      ['SHUTDOWN', 'NOSAVE'],
      ['SWAPDB', '0', '1'],
      ['PUBSUB', 'CHANNELS'],
      ['FUNCTION', 'FLUSH'],
      ['SCRIPT', 'FLUSH'],
      ['REPLICAOF', 'NO', 'ONE'],
    ];
    for (const [command, ...args] of refused) {
      await assert.rejects(client.call(command, ...args), /NOPERM/, `${command} ${args.join(' ')}`);
    }
    assert.equal(await client.ping(), 'PONG', 'the connection still works');
  });

  it('refuses a wrong password, and a user that does not exist', async () => {
    const orders = service('orders-auth');
    await ensure(orders);
    await assert.rejects(connectAs(orders, generatePassword()), /WRONGPASS/);
    await assert.rejects(connectAs(service('never-made')), /WRONGPASS/);
  });

  it('sets the user’s password to match a changed Secret: the old one stops working', async () => {
    const first = service('orders-rotate');
    await ensure(first);
    const rotated = { ...first, password: generatePassword() };
    assert.deepEqual(await ensure(rotated), { actions: ['SetUser'] });
    assert.deepEqual(await ensure(rotated), { actions: [] });
    await assert.rejects(connectAs(first), /WRONGPASS/);
    const client = await connectAs(rotated);
    assert.equal(await client.set(`${rotated.keyPrefix}k`, 'v'), 'OK');
  });

  it('repairs a user someone widened by hand', async () => {
    const orders = service('orders-repair');
    await ensure(orders);
    const root = await adminClient();
    await root.call('ACL', 'SETUSER', orders.username, '~*', '+@admin');
    assert.deepEqual(await ensure(orders), { actions: ['SetUser'] });
    const client = await connectAs(orders);
    await assert.rejects(client.get('unprefixed'), /NOPERM/);
    await assert.rejects(client.call('ACL', 'LIST'), /NOPERM/);
  });

  it('drops the user (closing its connections) and its keys; a second drop finds nothing', async () => {
    const orders = service('orders-drop');
    const other = service('orders-drop-kept');
    await ensure(orders);
    await ensure(other);
    const client = await connectAs(orders);
    for (let i = 0; i < 250; i++) await client.set(`${orders.keyPrefix}${i}`, 'x');
    const root = await adminClient();
    await root.set(`${other.keyPrefix}kept`, 'y');
    assert.deepEqual(await cache.dropCacheUser(orders, { purgeKeys: true, owner: orders.owner }), {
      actions: ['DeleteUser', 'DeleteKeys'],
      deletedKeys: 250,
    });
    assert.equal(await root.call('ACL', 'GETUSER', orders.username), null);
    await assert.rejects(client.get(`${orders.keyPrefix}1`), 'the open connection was closed');
    await assert.rejects(connectAs(orders), /WRONGPASS/);
    assert.equal(await root.exists(`${orders.keyPrefix}1`), 0);
    assert.equal(await root.get(`${other.keyPrefix}kept`), 'y', 'another service’s keys stay');
    assert.deepEqual(await cache.dropCacheUser(orders, { purgeKeys: true, owner: orders.owner }), {
      actions: [],
      deletedKeys: 0,
    });
    assert.deepEqual(await cache.dropCacheUser(orders, { owner: orders.owner }), { actions: [] });
  });

  it('rejects hostile names before any command, and the server is untouched', async () => {
    const root = await adminClient();
    const usersBefore = await root.call('ACL', 'USERS');
    for (const name of ['x y', 'a*', 'orders on >pw ~* +@all', 'o\r\nFLUSHALL', 'Orders', '../x', 'a:b']) {
      assert.throws(() => computeCacheUser(run, name), InvalidIdentifierError, name);
      await assert.rejects(
        cache.ensureCacheUser({
          username: `${run}.${name}`,
          keyPrefix: `${run}:${name}:`,
          password: 'pw',
          owner: 'x/y',
        }),
        InvalidIdentifierError,
        name,
      );
      await assert.rejects(
        cache.dropCacheUser({ username: name, keyPrefix: '*' }, { owner: 'x/y' }),
        InvalidIdentifierError,
        name,
      );
    }
    assert.deepEqual(await root.call('ACL', 'USERS'), usersBefore);
  });

  it('provisions the longest names the API lets through', async () => {
    const longest = service('a'.repeat(52), `n${'s'.repeat(62)}`);
    await ensure(longest);
    const client = await connectAs(longest);
    assert.equal(await client.set(`${longest.keyPrefix}k`, 'v'), 'OK');
  });

  it('says why a wrong admin password fails, and when nothing listens, without the password', async () => {
    const wrong = generatePassword();
    const bad = createRedisEngine({ ...admin, password: wrong, connectTimeoutMs: 2000 });
    try {
      const check = await bad.checkConnection();
      assert.equal(check.ok, false);
      assert.ok(!check.ok && check.reason === 'AuthenticationFailed', JSON.stringify(check));
      assert.ok(!JSON.stringify(check).includes(wrong));
      const request = service('orders-leak');
      const error = await bad.ensureCacheUser(request).then(
        () => assert.fail('ensure with a wrong admin password succeeded'),
        (e: unknown) => e as Error,
      );
      assert.match(error.message, /WRONGPASS/);
      for (const secret of [wrong, request.password]) {
        assert.ok(!`${error.message}\n${error.stack}`.includes(secret), 'no password in the error');
      }
    } finally {
      await bad.close();
    }
    const nobody = createRedisEngine({ ...admin, port: 1, connectTimeoutMs: 2000 });
    try {
      const check = await nobody.checkConnection();
      assert.ok(!check.ok && check.reason === 'ConnectionRefused', JSON.stringify(check));
      assert.ok(!JSON.stringify(check).includes(admin.password));
    } finally {
      await nobody.close();
    }
  });

  it('recovers when the server drops the admin connection', async () => {
    const root = await adminClient();
    await cache.checkConnection();
    await root.call('CLIENT', 'KILL', 'USER', admin.username ?? 'default', 'SKIPME', 'yes');
    const check = await cache.checkConnection();
    // The first call after the loss may fail; the next one connects anew.
    const again = check.ok ? check : await cache.checkConnection();
    assert.equal(again.ok, true, JSON.stringify(again));
  });
  describe('tenancy: an ACL user Flotilla did not create is never altered', () => {
    it('leaves a hand-made user exactly as it was when a MicroService in another namespace names it', async () => {
      const { request, snapshot } = await makeByHand('legacy');
      const before = await snapshot();
      const hostile = { ...request, password: generatePassword(), owner: 'evil-tenant/thief' };
      const refused = (error: unknown) =>
        error instanceof OwnershipConflictError && /exists and was not created by Flotilla/.test(error.message);
      await assert.rejects(cache.checkCacheOwnership(hostile), refused);
      await assert.rejects(cache.ensureCacheUser(hostile), refused);
      assert.deepEqual(await cache.dropCacheUser(request, { purgeKeys: true, owner: hostile.owner }), {
        actions: [],
        deletedKeys: 0,
      });
      assert.deepEqual(await snapshot(), before);
      const dba = await connectAs(request);
      assert.equal(await dba.get(`${request.keyPrefix}card`), '4111 1111 1111 1111');
    });

    it('adopts it when allowed: confined to its prefix, marked, and then refused to anyone else', async () => {
      const { request } = await makeByHand('adopted');
      const adopting = { ...request, password: generatePassword(), owner: `${run}/adopted`, adopt: true };
      made.push(adopting);
      assert.deepEqual((await cache.ensureCacheUser(adopting)).actions, ['AdoptUser', 'SetUser']);
      await assert.rejects(connectAs(request), /WRONGPASS/, 'the DBA’s password no longer opens it');
      const client = await connectAs(adopting);
      await assert.rejects(client.get(`${global}`), /NOPERM/, 'the hand-made ~* is gone');
      assert.deepEqual((await cache.ensureCacheUser({ ...adopting, adopt: false })).actions, []);
      await assert.rejects(
        cache.ensureCacheUser({ ...adopting, owner: 'evil-tenant/thief', adopt: true }),
        (error: unknown) => error instanceof OwnershipConflictError && error.markedOwner === `${run}/adopted`,
      );
    });
  });
});
