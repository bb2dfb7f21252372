import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  aclUserMatches,
  buildCacheAclRules,
  buildCacheSecretData,
  buildRedisUrl,
  CACHE_COMMAND_RULES,
  classifyRedisError,
  computeCacheUser,
  redisPasswordHash,
  validateCacheUser,
  versionFromHello,
} from './cache-user.ts';
import { InvalidIdentifierError } from './identifiers.ts';

const request = { ...computeCacheUser('shop', 'orders'), password: 'pw-123' };

/** ACL GETUSER's reply on Redis 7.0 for the user buildCacheAclRules makes (field, value, ...). */
function getUserReply(overrides: Record<string, unknown> = {}): unknown[] {
  const fields: Record<string, unknown> = {
    flags: ['on', 'sanitize-payload'],
    passwords: [redisPasswordHash('pw-123')],
    // Redis keeps its own order of the rules.
    commands: '+@all -@dangerous -pubsub -randomkey -scan -script|flush -function -dbsize',
    keys: '~shop:orders:*',
    channels: '&shop:orders:*',
    selectors: [],
    ...overrides,
  };
  return Object.entries(fields).flat();
}

describe('computeCacheUser', () => {
  it('names the user <namespace>.<name> and the prefix <namespace>:<name>:', () => {
    assert.deepEqual(computeCacheUser('shop', 'orders'), { username: 'shop.orders', keyPrefix: 'shop:orders:' });
  });

  it('gives services whose names share a beginning prefixes that do not overlap', () => {
    const a = computeCacheUser('shop', 'orders').keyPrefix;
    const b = computeCacheUser('shop', 'orders-v2').keyPrefix;
    assert.ok(!b.startsWith(a) && !a.startsWith(b));
  });

  for (const [namespace, name] of [
    ['shop', 'orders*'],
    ['shop', 'a b'],
    ['shop', 'Orders'],
    ['sh:op', 'orders'],
    ['shop', 'orders\r\nFLUSHALL'],
    ['shop', '-orders'],
    ['shop', ''],
    ['shop', 'x'.repeat(64)],
    ['shop', 'orders[ab]'],
  ]) {
    it(`refuses ${JSON.stringify(`${namespace}/${name}`)}`, () => {
      assert.throws(() => computeCacheUser(namespace as string, name as string), InvalidIdentifierError);
    });
  }
});

describe('validateCacheUser', () => {
  it('accepts what computeCacheUser makes and nothing with a glob or ACL metacharacter', () => {
    assert.deepEqual(validateCacheUser(request), request);
    for (const bad of [
      { username: 'shop.orders', keyPrefix: 'shop:*' },
      { username: 'shop.orders', keyPrefix: 'shop:orders' },
      { username: 'shop orders', keyPrefix: 'shop:orders:' },
      { username: 'shop.orders >x', keyPrefix: 'shop:orders:' },
      { username: 'shop.orders', keyPrefix: 'shop:or?ders:' },
    ]) {
      assert.throws(() => validateCacheUser(bad), InvalidIdentifierError, JSON.stringify(bad));
    }
  });
});

describe('buildCacheAclRules', () => {
  it('resets the user, then allows its prefix only, and no dangerous command', () => {
    assert.deepEqual(buildCacheAclRules(request), [
      'reset',
      'on',
      '>pw-123',
      '~shop:orders:*',
      '&shop:orders:*',
      '+@all',
      '-@dangerous',
      '-scan',
      '-randomkey',
      '-dbsize',
      '-pubsub',
      '-function',
      '-script|flush',
    ]);
  });

  it('needs a password', () => {
    assert.throws(() => buildCacheAclRules({ ...request, password: '' }), /needs a password/);
  });
});

describe('aclUserMatches', () => {
  it('matches the user as Redis 7 describes it, whatever the order of the rules', () => {
    assert.equal(aclUserMatches(getUserReply(), request), true);
  });

  it('matches Redis 6’s spelling (keys as a list, no channels field)', () => {
    const reply = getUserReply({ keys: ['~shop:orders:*'], commands: CACHE_COMMAND_RULES.join(' ') }).slice(0, 10);
    assert.equal(aclUserMatches(reply, request), true);
  });

  const differences: [string, Record<string, unknown>][] = [
    ['a missing user', {}],
    ['a disabled user', { flags: ['off'] }],
    ['a user without password', { flags: ['on', 'nopass'], passwords: [] }],
    ['another password', { passwords: [redisPasswordHash('old')] }],
    ['a second password', { passwords: [redisPasswordHash('pw-123'), redisPasswordHash('old')] }],
    ['all keys', { keys: '~*' }],
    ['another prefix too', { keys: '~shop:orders:* ~shop:users:*' }],
    ['all channels', { channels: '&*' }],
    ['admin commands', { commands: '+@all' }],
    ['a selector', { selectors: [['commands', '+@all', 'keys', '~*']] }],
  ];
  for (const [what, overrides] of differences) {
    it(`does not match ${what}`, () => {
      const reply = what === 'a missing user' ? null : getUserReply(overrides);
      assert.equal(aclUserMatches(reply, request), false);
    });
  }
});

describe('buildRedisUrl and buildCacheSecretData', () => {
  const credentials = {
    host: 'redis.databases.svc',
    port: 6379,
    username: 'shop.orders',
    password: 'p@ss:w/rd',
    keyPrefix: 'shop:orders:',
  };

  it('builds a redis URL with every part percent-encoded', () => {
    assert.equal(buildRedisUrl(credentials), 'redis://shop.orders:p%40ss%3Aw%2Frd@redis.databases.svc:6379');
    const url = new URL(buildRedisUrl(credentials));
    assert.equal(decodeURIComponent(url.username), 'shop.orders');
    assert.equal(decodeURIComponent(url.password), 'p@ss:w/rd');
  });

  it('brackets an IPv6 host and refuses a bad port', () => {
    assert.equal(buildRedisUrl({ ...credentials, host: '::1', password: 'x' }), 'redis://shop.orders:x@[::1]:6379');
    assert.throws(() => buildRedisUrl({ ...credentials, port: 0 }), /invalid port/);
  });

  it('writes REDIS_URL, host, port, username, password and keyPrefix', () => {
    assert.deepEqual(buildCacheSecretData(credentials), {
      REDIS_URL: 'redis://shop.orders:p%40ss%3Aw%2Frd@redis.databases.svc:6379',
      host: 'redis.databases.svc',
      port: '6379',
      username: 'shop.orders',
      password: 'p@ss:w/rd',
      keyPrefix: 'shop:orders:',
    });
  });
});

describe('classifyRedisError', () => {
  const where = 'redis 127.0.0.1:6379';
  const cases: [unknown, string][] = [
    [new Error('WRONGPASS invalid username-password pair or user is disabled.'), 'AuthenticationFailed'],
    [new Error('NOAUTH Authentication required.'), 'AuthenticationFailed'],
    [
      new Error('ensuring the cache user shop.orders on redis h:1: WRONGPASS invalid username-password pair'),
      'AuthenticationFailed',
    ],
    [new Error("NOPERM User x has no permissions to run the 'acl|setuser' command"), 'InsufficientPrivileges'],
    [Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' }), 'ConnectionRefused'],
    [Object.assign(new Error('getaddrinfo ENOTFOUND redis'), { code: 'ENOTFOUND' }), 'HostNotFound'],
    [Object.assign(new Error('connect ETIMEDOUT'), { code: 'ETIMEDOUT' }), 'ConnectTimeout'],
    [new Error('ERR something else'), 'ServerError'],
  ];
  for (const [error, reason] of cases) {
    it(`${String((error as Error).message).slice(0, 30)} → ${reason}`, () => {
      assert.equal(classifyRedisError(error, where, []).reason, reason);
    });
  }

  it('never repeats the password', () => {
    const { message } = classifyRedisError(new Error('ERR bad secret-pw and secret%2Fpw'), where, ['secret-pw']);
    assert.doesNotMatch(message, /secret-pw/);
    assert.match(message, /\[redacted\]/);
  });
});

it('versionFromHello reads the version out of HELLO’s reply', () => {
  assert.equal(versionFromHello(['server', 'redis', 'version', '7.0.15', 'proto', 2]), '7.0.15');
  assert.equal(versionFromHello('OK'), undefined);
});
