// The Redis cache, for services with spec.cache. In this order, so that
// a crash at any point ends well on the next reconcile:
//   1. the finalizer `flotilla.dev/cache`, once the server and its admin Secret are known to be usable;
//   2. the Secret `<name>-cache` with a generated password, created once (never regenerated while it exists;
//      an existing one is only brought up to date with the server's address);
//   3. ensureCacheUser: the ACL user `<namespace>.<name>` with the Secret's password, confined to its prefix.
// release() undoes it when the MicroService is deleted or its cache removed: the user and its keys are
// deleted, then the finalizer removed; a server that stays unreachable is given up after a bounded time.
// Nothing here logs or returns a password.

import type { MicroService } from '../api/microservice.ts';
import {
  type CacheEngine,
  type CacheUser,
  classifyRedisError,
  computeCacheUser,
  generatePassword,
  InvalidIdentifierError,
  OwnershipConflictError,
  type RedisAdminConnection,
  RedisEngineRegistry,
  redact,
} from '../database/index.ts';
import { identityOf } from '../desired/meta.ts';
import { buildCacheSecret, cacheSecretName } from '../desired/redis-cache.ts';
import { hasFinalizer } from '../kube/finalizers.ts';
import { type KubeObject, secretType } from '../kube/objects.ts';
import type { ProvisionContext, Provisioned, Provisioner, Released } from './provisioner.ts';
import { ProvisionReason } from './reasons.ts';
import { ensureCredentialsSecret, ProvisionFailure, readAdminSecret } from './secrets.ts';
import {
  admittedServer,
  claimFinalizer,
  failedProvision,
  mustReleaseFinalizer,
  provisionedEvents,
  releaseUser,
  type ServerOfEngine,
  type ServerUserOptions,
  secretDataHash,
  serverOfEngine,
} from './server-user.ts';
import { adoptionAllowed } from './tenancy.ts';

export const CACHE_FINALIZER = 'flotilla.dev/cache';
export const CACHE_READY = 'CacheReady';

export const CacheReason = {
  ...ProvisionReason,
  /** The DatabaseServer's engine is not redis. */
  NotARedisServer: 'NotARedisServer',
} as const;

const REDIS = { engine: 'redis', wrongEngine: CacheReason.NotARedisServer, field: 'spec.cache' };

export interface RedisCacheOptions extends ServerUserOptions {
  /** One connection per server, shared and closed by the caller; a private one when unset. */
  engines?: RedisEngineRegistry;
}

export class RedisCacheProvisioner implements Provisioner<'cache'> {
  readonly field = 'cache';
  readonly #options: RedisCacheOptions;
  readonly #engines: RedisEngineRegistry;

  constructor(options: RedisCacheOptions) {
    this.#options = options;
    this.#engines = options.engines ?? new RedisEngineRegistry();
  }

  wants(ms: MicroService): boolean {
    return ms.spec.cache !== undefined;
  }

  /** Provisions the cache of `ms` (which has spec.cache); never throws for the server's failures. */
  async provision(ms: MicroService, _context?: ProvisionContext): Promise<Provisioned<'cache'>> {
    const { name } = identityOf(ms);
    const serverRef = ms.spec.cache?.serverRef ?? '';
    const secretName = cacheSecretName(name);
    try {
      const namespace = ms.metadata.namespace ?? '';
      const server = admittedServer(this.#options, serverRef, namespace, REDIS);
      const user = this.#user(ms);
      const status = { serverRef, ...user, secretName };
      const claim = { ...user, owner: `${namespace}/${name}`, adopt: this.#mayAdopt(ms, server, user.username) };
      const admin = await this.#admin(server);
      if (!hasFinalizer(ms, CACHE_FINALIZER)) {
        // Before anything exists that would need deleting, and only once the server can be used and the user
        // is one this service may have: a service refused there has nothing to release, and gets no Secret.
        const check = await this.#engine(server, admin).checkConnection();
        if (!check.ok) throw new ProvisionFailure(check.reason, redact(check.message, [admin.password]), true);
        try {
          await this.#engine(server, admin).checkCacheOwnership(claim);
        } catch (error) {
          throw this.#serverFailure(error, server, [admin.password]);
        }
        await claimFinalizer(this.#options, ms, CACHE_FINALIZER);
      }
      const { data, created } = await this.#ensureSecret(ms, server, user);
      const password = data.password ?? '';
      let actions: string[];
      try {
        ({ actions } = await this.#engine(server, admin).ensureCacheUser({ ...claim, password }));
      } catch (error) {
        throw this.#serverFailure(error, server, [password, admin.password]);
      }
      const message = `ACL user ${user.username} on DatabaseServer ${serverRef}, keys ${user.keyPrefix}*; credentials in Secret ${secretName}`;
      const done = [...(created ? ['CreateSecret'] : []), ...actions];
      const events = provisionedEvents(done, message, { adopted: 'CacheAdopted', provisioned: 'CacheProvisioned' });
      return {
        field: 'cache',
        condition: { type: CACHE_READY, status: 'True', reason: CacheReason.Provisioned, message },
        status,
        credentialsHash: secretDataHash(data),
        events,
        retry: false,
      };
    } catch (error) {
      if (!(error instanceof ProvisionFailure)) throw error;
      return failedProvision(ms, 'cache', CACHE_READY, 'CacheFailed', error);
    }
  }

  /** Holding the finalizer while being deleted, or after spec.cache was removed. */
  mustRelease(ms: MicroService): boolean {
    return mustReleaseFinalizer(ms, CACHE_FINALIZER, ms.spec.cache !== undefined);
  }

  /**
   * The MicroService is being deleted, or its cache was removed: deletes the ACL user and its keys, then the
   * finalizer. The Secret `<name>-cache` goes with the MicroService (owner reference); after a removal it stays,
   * its password opening nothing (the operator may not delete Secrets), and is reused if a cache comes back. A
   * server that is gone gives up at once; one that does not answer is retried until releaseTimeoutMs after
   * the deletion.
   */
  async release(ms: MicroService, _context?: ProvisionContext): Promise<Released> {
    const { name, namespace } = identityOf(ms);
    const serverRef = ms.spec.cache?.serverRef ?? ms.status?.cache?.serverRef ?? '';
    const reasons = { failed: 'CacheDeleteFailed', leftBehind: 'CacheLeftBehind' };
    const subject = { what: `the cache user of ${namespace}/${name} on DatabaseServer ${serverRef}` };
    return releaseUser(this.#options, ms, CACHE_FINALIZER, reasons, subject, async (subject) => {
      const server = serverOfEngine(
        this.#options.databaseServers,
        serverRef,
        REDIS.engine,
        REDIS.wrongEngine,
        REDIS.field,
      );
      const user = this.#user(ms);
      subject.what = `ACL user ${user.username} and keys ${user.keyPrefix}* on DatabaseServer ${serverRef}`;
      const admin = await this.#admin(server);
      let result: Awaited<ReturnType<CacheEngine['dropCacheUser']>>;
      try {
        result = await this.#engine(server, admin).dropCacheUser(user, {
          purgeKeys: true,
          owner: `${namespace}/${name}`,
        });
      } catch (error) {
        throw this.#serverFailure(error, server, [admin.password]);
      }
      return {
        type: 'Normal',
        reason: 'CacheDeleted',
        message:
          result.actions.length > 0
            ? `${subject.what} deleted (${result.deletedKeys ?? 0} keys)`
            : `${subject.what} were already gone`,
      };
    });
  }

  /** Closes every server's connection. */
  async close(): Promise<void> {
    await this.#engines.closeAll();
  }

  /**
   * Whether the service may take over an ACL user without Flotilla's mark: the server's spec.adoption names
   * its namespace, or its own status records the user as provisioned by an earlier Flotilla (no mark then).
   */
  #mayAdopt(ms: MicroService, server: ServerOfEngine, username: string): boolean {
    if (adoptionAllowed(server.tenancy, ms.metadata.namespace ?? '')) return true;
    const ready = (ms.status?.conditions ?? []).find((c) => c.type === CACHE_READY);
    return (
      ms.status?.cache?.serverRef === server.name &&
      ms.status.cache.username === username &&
      ready?.status === 'True' &&
      ready.reason === CacheReason.Provisioned
    );
  }

  #user(ms: MicroService): CacheUser {
    const { name, namespace } = identityOf(ms);
    try {
      return computeCacheUser(namespace, name);
    } catch (error) {
      if (error instanceof InvalidIdentifierError)
        throw new ProvisionFailure(CacheReason.InvalidName, error.message, false);
      throw error;
    }
  }

  async #admin(server: ServerOfEngine): Promise<RedisAdminConnection> {
    const data = await readAdminSecret(this.#options.client, server, ['password']);
    return {
      host: server.host,
      port: server.port,
      ...(data.username ? { username: data.username } : {}),
      password: data.password ?? '',
    };
  }

  #engine(server: ServerOfEngine, admin: RedisAdminConnection): CacheEngine {
    return this.#engines.get(server.name, admin);
  }

  #serverFailure(error: unknown, server: ServerOfEngine, secrets: string[]): ProvisionFailure {
    if (error instanceof InvalidIdentifierError) {
      return new ProvisionFailure(CacheReason.InvalidName, redact(error.message, secrets), false);
    }
    if (error instanceof OwnershipConflictError) {
      const what = `ACL user ${error.objectName}`;
      const message = error.markedOwner
        ? `${what} on DatabaseServer ${server.name} belongs to MicroService ${error.markedOwner}`
        : `${what} exists on DatabaseServer ${server.name} and was not created by Flotilla; it is left as it is (the DatabaseServer's spec.adoption can allow taking it over)`;
      return new ProvisionFailure(CacheReason.NameConflict, message, false);
    }
    const where = `DatabaseServer ${server.name} (redis ${server.host}:${server.port})`;
    const { reason, message } = classifyRedisError(error, where, secrets);
    return new ProvisionFailure(reason, message, true);
  }

  /** The Secret `<name>-cache`, ours: created with a new password when missing, else brought up to date. */
  async #ensureSecret(
    ms: MicroService,
    server: ServerOfEngine,
    user: CacheUser,
  ): Promise<{ data: Record<string, string>; created: boolean }> {
    const { client } = this.#options;
    const { name, namespace } = identityOf(ms);
    const secretName = cacheSecretName(name);
    const wanted = (password: string) =>
      buildCacheSecret(ms, { host: server.host, port: server.port, password, ...user });
    const { data, created } = await ensureCredentialsSecret({
      client,
      ms,
      name: secretName,
      build: (password) => wanted(password) as unknown as KubeObject,
      read: () => this.#readSecret(namespace, secretName),
      generatePassword,
    });
    return { data, created };
  }

  #readSecret(namespace: string, name: string): Promise<KubeObject | undefined> {
    return this.#options.client.getIfExists(secretType, name, namespace);
  }
}
