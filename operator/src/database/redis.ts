// The redis engine for spec.cache: one ACL user per MicroService, limited to the keys and channels under
// its prefix `<namespace>:<name>:`, its password the one in the Secret `<name>-cache`. One connection per
// server (ioredis multiplexes); every argument goes to Redis as its own bulk string, never as built text.

import type { Redis, RedisOptions } from 'ioredis';
import { sha256Hex } from '../common/hash.ts';
import {
  aclUserMatches,
  buildCacheAclRules,
  type CacheAction,
  type CacheOwner,
  type CacheRequest,
  type CacheResult,
  type CacheUser,
  classifyRedisError,
  type RedisAdminConnection,
  validateCacheUser,
  versionFromHello,
} from './cache-user.ts';
import { loadRedis } from './drivers.ts';
import { runSanitized } from './errors.ts';
import { decideClaim } from './ownership.ts';
import type { ConnectionCheck } from './types.ts';

/**
 * A connected ioredis client that never reconnects or queues by itself (a call on a lost connection fails at
 * once). It rejects with the server's own reason (WRONGPASS, ECONNREFUSED, ...), not ioredis's "Connection
 * is closed".
 */
export async function connectRedis(options: RedisOptions): Promise<Redis> {
  const RedisClient = await loadRedis();
  const client = new RedisClient({
    ...options,
    lazyConnect: true,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    connectionName: options.connectionName ?? 'flotilla',
  });
  let firstError: unknown;
  // An unhandled 'error' event must not crash the operator; the caller sees it through the rejected promise.
  client.on('error', (error: unknown) => {
    firstError ??= error;
  });
  try {
    await client.connect();
    return client;
  } catch (error) {
    client.disconnect();
    throw firstError ?? error;
  }
}

/** connectRedis for a `redis://user:password@host:port` URL, as a service reads it from REDIS_URL. */
export function connectRedisUrl(text: string, options: RedisOptions = {}): Promise<Redis> {
  const url = new URL(text);
  return connectRedis({
    ...options,
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port ? Number(url.port) : 6379,
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    password: decodeURIComponent(url.password),
  });
}

/**
 * The hash that holds Flotilla's marks on a Redis server: field = ACL user, value = the MicroService it is
 * for. No service's key pattern (`~<namespace>:<name>:*`) can reach it: its name has no colon.
 */
export const CACHE_OWNERS_KEY = 'flotilla.dev/cache-owners';

export interface CacheEngine {
  readonly engine: 'redis';
  /** Logs in as the admin and checks it may manage ACL users; the version, or a reason without the password. */
  checkConnection(): Promise<ConnectionCheck>;
  /**
   * Idempotent: creates the user (its mark first), or makes it match (password, patterns, commands); no change
   * when it does. A user that exists without `owner`'s mark is never changed (OwnershipConflictError) unless
   * `adopt` is set and it has no mark at all.
   */
  ensureCacheUser(request: CacheRequest & CacheOwner): Promise<CacheResult>;
  /** Read-only: throws OwnershipConflictError when the user exists and is not `owner`'s (nor adoptable). */
  checkCacheOwnership(request: CacheUser & CacheOwner): Promise<void>;
  /**
   * Deletes the user (its connections are closed by Redis), its mark and, with purgeKeys, its keys; missing
   * counts as done. A user that exists without `owner`'s mark is left alone.
   */
  dropCacheUser(user: CacheUser, options: { purgeKeys?: boolean; owner: string }): Promise<CacheResult>;
  close(): Promise<void>;
}

export function createRedisEngine(admin: RedisAdminConnection): CacheEngine {
  const where = `redis ${admin.host}:${admin.port}`;
  const secrets = [admin.password];
  let current: Promise<Redis> | undefined;

  function connect(): Promise<Redis> {
    return connectRedis({
      host: admin.host,
      port: admin.port,
      ...(admin.username ? { username: admin.username } : {}),
      password: admin.password,
      connectTimeout: admin.connectTimeoutMs ?? 5000,
    });
  }

  /** Ready, and its socket still writable: a connection the server closed is noticed before ioredis says so. */
  const usable = (redis: Redis) =>
    redis.status === 'ready' && (redis as unknown as { stream?: { writable?: boolean } }).stream?.writable !== false;

  async function client(): Promise<Redis> {
    if (current) {
      const existing = await current.catch(() => undefined);
      if (existing && usable(existing)) return existing;
      existing?.disconnect();
    }
    current = connect();
    current.catch(() => {
      current = undefined;
    });
    return current;
  }

  function run<T>(doing: string, action: (redis: Redis) => Promise<T>, extraSecrets: string[] = []): Promise<T> {
    return runSanitized(`${doing} on ${where}`, async () => action(await client()), [...secrets, ...extraSecrets]);
  }

  /** The user as ACL GETUSER shows it (null when missing), and its mark. */
  async function read(redis: Redis, username: string) {
    const existing = (await redis.call('ACL', 'GETUSER', username)) as unknown;
    const mark = ((await redis.call('HGET', CACHE_OWNERS_KEY, username)) as string | null) ?? undefined;
    return { existing, mark };
  }

  /** The user, its mark, and what may be done with it (throws OwnershipConflictError when nothing may). */
  async function inspect(redis: Redis, request: CacheUser & CacheOwner) {
    const { existing, mark } = await read(redis, request.username);
    const found = existing === null ? { exists: false as const } : { exists: true as const, owner: mark };
    return { existing, mark, claim: decideClaim('ACL user', request.username, found, request) };
  }

  return {
    engine: 'redis',

    async checkConnection(): Promise<ConnectionCheck> {
      try {
        const redis = await client();
        const version = versionFromHello(await redis.call('HELLO'));
        await redis.call('ACL', 'USERS');
        return { ok: true, serverVersion: version ?? 'unknown' };
      } catch (error) {
        return { ok: false, ...classifyRedisError(error, where, secrets) };
      }
    },

    async ensureCacheUser(request: CacheRequest & CacheOwner): Promise<CacheResult> {
      const rules = buildCacheAclRules(request);
      return run(
        `ensuring the cache user ${request.username}`,
        async (redis) => {
          const { existing, mark, claim } = await inspect(redis, request);
          const actions: CacheAction[] = claim === 'adopt' ? ['AdoptUser'] : [];
          // The mark first: the user is never there unmarked.
          if (mark !== request.owner) await redis.call('HSET', CACHE_OWNERS_KEY, request.username, request.owner);
          if (claim === 'ours' && aclUserMatches(existing, request)) return { actions };
          // One command: the user is never seen half-made (reset, then the rules, atomically).
          await redis.call('ACL', 'SETUSER', request.username, ...rules);
          return { actions: [...actions, 'SetUser'] };
        },
        [request.password],
      );
    },

    async checkCacheOwnership(request: CacheUser & CacheOwner): Promise<void> {
      validateCacheUser(request);
      await run(`checking the ownership of the cache user ${request.username}`, async (redis) => {
        await inspect(redis, request);
      });
    },

    async dropCacheUser(user: CacheUser, options: { purgeKeys?: boolean; owner: string }): Promise<CacheResult> {
      validateCacheUser(user);
      return run(`dropping the cache user ${user.username}`, async (redis) => {
        const actions: CacheAction[] = [];
        const { existing, mark } = await read(redis, user.username);
        if (existing !== null && mark !== options.owner)
          return { actions, ...(options.purgeKeys ? { deletedKeys: 0 } : {}) };
        const deleted = Number(await redis.call('ACL', 'DELUSER', user.username));
        await redis.call('HDEL', CACHE_OWNERS_KEY, user.username);
        if (deleted > 0) actions.push('DeleteUser');
        let deletedKeys = 0;
        if (options.purgeKeys) {
          let cursor = '0';
          do {
            const [next, keys] = (await redis.call('SCAN', cursor, 'MATCH', `${user.keyPrefix}*`, 'COUNT', '1000')) as [
              string,
              string[],
            ];
            cursor = next;
            if (keys.length > 0) deletedKeys += Number(await redis.call('UNLINK', ...keys));
          } while (cursor !== '0');
          if (deletedKeys > 0) actions.push('DeleteKeys');
        }
        return { actions, ...(options.purgeKeys ? { deletedKeys } : {}) };
      });
    },

    async close(): Promise<void> {
      const pending = current;
      current = undefined;
      const redis = await pending?.catch(() => undefined);
      if (redis) await redis.quit().catch(() => redis.disconnect());
    },
  };
}

/** One cache engine (one connection) per server, replaced when its address or admin credentials change. */
export class RedisEngineRegistry {
  readonly #engines = new Map<string, { fingerprint: string; engine: CacheEngine }>();
  readonly #create: (admin: RedisAdminConnection) => CacheEngine;

  constructor(create: (admin: RedisAdminConnection) => CacheEngine = createRedisEngine) {
    this.#create = create;
  }

  get(server: string, admin: RedisAdminConnection): CacheEngine {
    const fingerprint = sha256Hex(JSON.stringify(admin));
    const existing = this.#engines.get(server);
    if (existing?.fingerprint === fingerprint) return existing.engine;
    if (existing) void existing.engine.close().catch(() => {});
    const engine = this.#create(admin);
    this.#engines.set(server, { fingerprint, engine });
    return engine;
  }

  async closeAll(): Promise<void> {
    const engines = [...this.#engines.values()];
    this.#engines.clear();
    await Promise.all(engines.map(({ engine }) => engine.close()));
  }
}
