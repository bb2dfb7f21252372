// The shared database (spec.database on a DatabaseServer). In this order, so that a crash at any
// point ends well on the next reconcile:
//   1. the finalizer, before anything exists on the server (once the server, the names and the admin
//      Secret are known to be usable);
//   2. the Secret `<name>-db` with a generated password, created once (never regenerated while it
//      exists; an existing one is only brought up to date with the server's address);
//   3. ensureDatabase: the role with the Secret's password, its database, CONNECT limited to it.
// What was provisioned for which Secret resourceVersion is remembered, so an unchanged service costs
// no round-trip to the server (re-verified every verifyIntervalMs). On deletion, the reclaim policy
// is carried out; a server that stays unreachable is given up reclaimTimeoutMs after the deletion.

import { isDatabaseEngine } from '../api/databaseserver.ts';
import type { MicroService } from '../api/microservice.ts';
import { microServiceType } from '../api/resource-types.ts';
import type { Clock } from '../common/clock.ts';
import {
  type AdminConnection,
  classifyConnectionError,
  type DatabaseEngineName,
  type EngineRegistry,
  InvalidIdentifierError,
  OwnershipConflictError,
  redact,
} from '../database/index.ts';
import { databaseSecretName, dedicatedDatabaseOf, identityOf } from '../desired/index.ts';
import { isNotFound } from '../kube/errors.ts';
import type { EventRecord } from '../kube/events.ts';
import { addFinalizer, hasFinalizer, removeFinalizer } from '../kube/finalizers.ts';
import type { KubeObject } from '../kube/objects.ts';
import type { ObjectCache } from '../runtime/object-cache.ts';
import {
  computeCredentialsHash,
  DATABASE_FINALIZER,
  DATABASE_READY,
  DatabaseEventReason,
  DatabaseReason,
} from './database-condition.ts';
import { type DatabaseSecretOptions, databaseNames, ensureDatabaseSecret } from './database-secret.ts';
import type { ProvisionContext, Provisioned, Provisioner, Released } from './provisioner.ts';
import { decodeSecretData, ProvisionFailure, readAdminSecret } from './secrets.ts';
import { adoptionAllowed, checkNamespaceAllowed, type TenancySpec } from './tenancy.ts';

export interface SharedDatabaseOptions extends DatabaseSecretOptions {
  clock: Clock;
  /** One engine (one bounded pool) per DatabaseServer, shared with the DatabaseServer controller. */
  engines: EngineRegistry;
  microServices: ObjectCache;
  databaseServers: ObjectCache;
  /** The Namespaces (cluster-scoped), for DatabaseServers that admit namespaces by label; none admitted without. */
  namespaces?: ObjectCache;
  /** Told of every write to the MicroService (its finalizer), so the next read is not stale. */
  onWrite?: (written: KubeObject) => void;
  /** With reclaimPolicy Delete and the server unreachable, give up this long after deletionTimestamp (default 5 min). */
  reclaimTimeoutMs?: number;
  /** A provisioned database is checked on the server again after this long (default 10 min). */
  verifyIntervalMs?: number;
}

interface ServerInfo {
  name: string;
  uid: string;
  generation: number;
  engine: DatabaseEngineName;
  host: string;
  port: number;
  adminSecretRef: { namespace: string; name: string };
  /** Who may use the server (allowedNamespaces) and take over what Flotilla did not create (adoption). */
  tenancy: TenancySpec;
}

/** The keys of the Secret `<name>-db` (buildDatabaseSecretData's). */
const SECRET_KEYS = ['DATABASE_URL', 'host', 'port', 'database', 'username', 'password'] as const;

export class SharedDatabaseProvisioner implements Provisioner<'database'> {
  readonly field = 'database';
  readonly #options: SharedDatabaseOptions;
  /** Per MicroService key: the fingerprint of what was last provisioned, and when it was checked. */
  readonly #provisioned = new Map<string, { fingerprint: string; at: number }>();

  constructor(options: SharedDatabaseOptions) {
    this.#options = options;
  }

  wants(ms: MicroService): boolean {
    return ms.spec.database !== undefined && dedicatedDatabaseOf(ms) === undefined;
  }

  /** Provisions the database of `ms`; never throws for the server's failures. */
  async provision(ms: MicroService, { log }: ProvisionContext): Promise<Provisioned<'database'>> {
    const { name, namespace } = identityOf(ms);
    const key = `${namespace}/${name}`;
    const serverRef = ms.spec.database?.serverRef ?? '';
    const secretName = databaseSecretName(name);
    const events: EventRecord[] = [];
    let credentialsHash: string | undefined;
    let status = ms.status?.database;
    try {
      const server = this.#server(serverRef);
      this.#checkNamespace(ms, server);
      const { database, username } = databaseNames(ms, addressOf(server));
      this.#checkNameConflict(ms, server, database);
      const owner = `${namespace}/${name}`;
      const adoption = this.#adoption(ms, server, database);
      const target = { database, username, owner, adopt: adoption !== undefined };
      let admin: AdminConnection | undefined;
      if (!hasFinalizer(ms, DATABASE_FINALIZER) || this.#existingCredentialsHash(ms) === undefined) {
        // Before anything is written (finalizer, Secret): the names must be ones the server lets this service
        // have. A service whose server, name, ownership or admin Secret is wrong has nothing to reclaim.
        admin = await this.#admin(server);
        try {
          await this.#options.engines.get(server.name, admin).checkOwnership(target);
        } catch (error) {
          throw this.#serverFailure(error, server, [admin.password]);
        }
        await this.#ensureFinalizer(ms);
      }
      status = { serverRef, name: database, secretName };
      const secret = await ensureDatabaseSecret(this.#options, ms, addressOf(server), { database, username });
      credentialsHash = computeCredentialsHash(secret.data);
      const fingerprint = [
        ms.metadata.uid,
        secret.resourceVersion,
        server.uid,
        server.generation,
        database,
        username,
      ].join('|');
      const now = this.#options.clock.now();
      const remembered = this.#provisioned.get(key);
      const verifyIntervalMs = this.#options.verifyIntervalMs ?? 10 * 60_000;
      if (remembered?.fingerprint !== fingerprint || now - remembered.at >= verifyIntervalMs) {
        const password = secret.data.password ?? '';
        admin ??= await this.#admin(server);
        const engine = this.#options.engines.get(server.name, admin);
        let actions: string[];
        try {
          ({ actions } = await engine.ensureDatabase({ ...target, password }));
        } catch (error) {
          throw this.#serverFailure(error, server, [password, admin.password]);
        }
        this.#provisioned.set(key, { fingerprint, at: now });
        if (actions.length > 0) {
          const what = `database ${database} and role ${username} on DatabaseServer ${server.name}`;
          const adopted = actions.some((action) => action.startsWith('Adopt'));
          log.info({ database, username, server: server.name, actions }, 'provisioned the database');
          events.push(
            adopted
              ? {
                  type: 'Normal',
                  reason: DatabaseEventReason.DatabaseAdopted,
                  message:
                    adoption === 'earlier'
                      ? `${what}, provisioned for this MicroService by an earlier Flotilla, now carry Flotilla's mark: ${actions.join(', ')}`
                      : `${what} existed without Flotilla's mark and were adopted (spec.adoption of the DatabaseServer allows namespace ${namespace}); marked as ${owner}'s: ${actions.join(', ')}`,
                }
              : {
                  type: 'Normal',
                  reason: DatabaseEventReason.DatabaseProvisioned,
                  message: `${what}: ${actions.join(', ')}`,
                },
          );
        }
      }
      return {
        field: 'database',
        condition: {
          type: DATABASE_READY,
          status: 'True',
          reason: DatabaseReason.Provisioned,
          message: `database ${database} and role ${username} on DatabaseServer ${serverRef}; credentials in Secret ${secretName}`,
        },
        status,
        credentialsHash,
        events,
        retry: false,
      };
    } catch (error) {
      if (!(error instanceof ProvisionFailure)) throw error;
      this.#provisioned.delete(key);
      // The pods keep the credentials they have: a failure never rolls them.
      credentialsHash ??= this.#existingCredentialsHash(ms);
      log.warn({ reason: error.reason }, `database not ready: ${error.message}`);
      // Announced when it becomes the reason, not again on every reconcile that finds it unchanged.
      const shown = (ms.status?.conditions ?? []).find((c) => c.type === DATABASE_READY);
      if (shown?.status !== 'False' || shown.reason !== error.reason || shown.message !== error.message) {
        events.push({
          type: 'Warning',
          reason: DatabaseEventReason.DatabaseFailed,
          message: `${error.reason}: ${error.message}`,
        });
      }
      return {
        field: 'database',
        condition: { type: DATABASE_READY, status: 'False', reason: error.reason, message: error.message },
        status,
        ...(credentialsHash ? { credentialsHash } : {}),
        events,
        retry: error.retry,
      };
    }
  }

  /** Being deleted with the finalizer: the reclaim policy is carried out (also after spec.database was removed). */
  mustRelease(ms: MicroService): boolean {
    return ms.metadata.deletionTimestamp !== undefined && hasFinalizer(ms, DATABASE_FINALIZER);
  }

  /**
   * Retain keeps the database (and says so), Delete drops it; an unreachable server is retried until
   * reclaimTimeoutMs after the deletionTimestamp, then given up with a Warning naming what was left behind.
   */
  async release(ms: MicroService, { log }: ProvisionContext): Promise<Released> {
    const { name, namespace } = identityOf(ms);
    const events: EventRecord[] = [];
    const policy = ms.spec.database?.reclaimPolicy ?? 'Retain';
    const serverRef = ms.spec.database?.serverRef ?? ms.status?.database?.serverRef ?? '';
    let what = `the database of ${name} on DatabaseServer ${serverRef}`;
    try {
      const server = this.#server(serverRef);
      const { database, username } = databaseNames(ms, addressOf(server));
      what = `database ${database} and role ${username} on DatabaseServer ${serverRef} (${server.host}:${server.port})`;
      if (policy === 'Retain') {
        events.push({
          type: 'Normal',
          reason: DatabaseEventReason.DatabaseRetained,
          message: `reclaimPolicy Retain: ${what} are kept`,
        });
      } else {
        const admin = await this.#admin(server);
        const engine = this.#options.engines.get(server.name, admin);
        let actions: string[];
        try {
          ({ actions } = await engine.dropDatabase({ database, username, owner: `${namespace}/${name}` }));
        } catch (error) {
          throw this.#serverFailure(error, server, [admin.password]);
        }
        log.info({ database, username, server: server.name, actions }, 'dropped the database');
        events.push({
          type: 'Normal',
          reason: DatabaseEventReason.DatabaseDropped,
          message: `reclaimPolicy Delete: ${what} ${actions.length > 0 ? `dropped (${actions.join(', ')})` : 'were already gone'}`,
        });
      }
    } catch (error) {
      if (!(error instanceof ProvisionFailure)) throw error;
      if (policy === 'Retain') {
        // Nothing to do on the server: keeping is all Retain asks.
        events.push({
          type: 'Normal',
          reason: DatabaseEventReason.DatabaseRetained,
          message: `reclaimPolicy Retain: ${what} is kept (${error.message})`,
        });
      } else {
        const timeoutMs = this.#options.reclaimTimeoutMs ?? 5 * 60_000;
        const elapsed = this.#options.clock.now() - Date.parse(ms.metadata.deletionTimestamp ?? '');
        if (elapsed < timeoutMs) {
          log.warn({ reason: error.reason }, `could not drop the database: ${error.message}`);
          events.push({
            type: 'Warning',
            reason: DatabaseEventReason.DatabaseDropFailed,
            message: `${error.reason}: ${error.message}; retrying until ${Math.round(timeoutMs / 1000)}s after deletion`,
          });
          return { done: false, events, retryNotAfterMs: Math.max(100, timeoutMs - elapsed) };
        }
        const message =
          `gave up dropping after ${Math.round(elapsed / 1000)}s: ${what} are left behind ` +
          `(${error.reason}: ${error.message}); drop them by hand`;
        log.warn({ reason: error.reason }, message);
        events.push({ type: 'Warning', reason: DatabaseEventReason.DatabaseLeftBehind, message });
      }
    }
    this.forget(`${namespace}/${name}`);
    try {
      // Evaluated before onWrite: `onWrite?.(await …)` would skip the write when there is no onWrite.
      const written = await removeFinalizer(this.#options.client, microServiceType, ms, DATABASE_FINALIZER);
      this.#options.onWrite?.(written);
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    return { done: true, events };
  }

  forget(key: string): void {
    this.#provisioned.delete(key);
  }

  async #ensureFinalizer(ms: MicroService): Promise<void> {
    if (hasFinalizer(ms, DATABASE_FINALIZER)) return;
    const written = await addFinalizer(this.#options.client, microServiceType, ms, DATABASE_FINALIZER);
    this.#options.onWrite?.(written);
  }

  #server(serverRef: string): ServerInfo {
    const server = this.#options.databaseServers.get(serverRef);
    if (!server) {
      throw new ProvisionFailure(DatabaseReason.ServerNotFound, `DatabaseServer ${serverRef} does not exist`, false);
    }
    const spec = (server.spec ?? {}) as Partial<Omit<ServerInfo, 'name' | 'uid' | 'generation' | 'engine'>> & {
      engine?: string;
    };
    if (spec.engine !== undefined && !isDatabaseEngine(spec.engine)) {
      throw new ProvisionFailure(
        DatabaseReason.EngineMismatch,
        `DatabaseServer ${serverRef} is a ${spec.engine} server; spec.database needs a postgres or mysql server`,
        false,
      );
    }
    return {
      name: serverRef,
      uid: server.metadata.uid ?? '',
      generation: server.metadata.generation ?? 0,
      engine: spec.engine ?? 'postgres',
      host: spec.host ?? '',
      port: spec.port ?? 0,
      adminSecretRef: spec.adminSecretRef ?? { namespace: '', name: '' },
      tenancy: spec as TenancySpec,
    };
  }

  /** allowedNamespaces: checked before anything is done on the server or in the namespace. */
  #checkNamespace(ms: MicroService, server: ServerInfo): void {
    const namespace = ms.metadata.namespace ?? '';
    const labels = this.#options.namespaces?.get(namespace)?.metadata.labels;
    const verdict = checkNamespaceAllowed(server.name, server.tenancy, namespace, labels);
    if (!verdict.allowed) throw new ProvisionFailure(DatabaseReason.NamespaceNotAllowed, verdict.message, false);
  }

  /**
   * Whether the service may take over a database or role without Flotilla's mark: `allowed` when the
   * DatabaseServer's spec.adoption names its namespace; `earlier` when this service's own status records it
   * as provisioned by an earlier Flotilla (which wrote no mark). Otherwise undefined: never.
   */
  #adoption(ms: MicroService, server: ServerInfo, database: string): 'allowed' | 'earlier' | undefined {
    if (adoptionAllowed(server.tenancy, ms.metadata.namespace ?? '')) return 'allowed';
    const recorded = ms.status?.database;
    const ready = (ms.status?.conditions ?? []).find((c) => c.type === DATABASE_READY);
    const provisionedBefore =
      recorded?.serverRef === server.name &&
      recorded.name === database &&
      ready?.status === 'True' &&
      ready.reason === DatabaseReason.Provisioned;
    return provisionedBefore ? 'earlier' : undefined;
  }

  /** Another live MicroService on the same server that claims the same database: the older one keeps it. */
  #checkNameConflict(ms: MicroService, server: ServerInfo, database: string): void {
    const mine = ms.metadata.creationTimestamp ?? '';
    for (const other of this.#options.microServices.list() as MicroService[]) {
      if (other.metadata.uid === ms.metadata.uid || other.spec.database?.serverRef !== server.name) continue;
      const theirs = other.status?.database?.name;
      if (theirs !== database) continue;
      const theirTime = other.metadata.creationTimestamp ?? '';
      const older = theirTime < mine || (theirTime === mine && (other.metadata.uid ?? '') < (ms.metadata.uid ?? ''));
      if (older) {
        throw new ProvisionFailure(
          DatabaseReason.NameConflict,
          `database ${database} on DatabaseServer ${server.name} belongs to MicroService ` +
            `${other.metadata.namespace}/${other.metadata.name}; set spec.database.name to another name`,
          false,
        );
      }
    }
  }

  /** The admin credentials from the server's adminSecretRef (read when the server must be reached). */
  async #admin(server: ServerInfo): Promise<AdminConnection> {
    const data = await readAdminSecret(this.#options.client, server, ['username', 'password']);
    return {
      engine: server.engine,
      host: server.host,
      port: server.port,
      username: data.username ?? '',
      password: data.password ?? '',
    };
  }

  #serverFailure(error: unknown, server: ServerInfo, secrets: string[]): ProvisionFailure {
    if (error instanceof InvalidIdentifierError) {
      return new ProvisionFailure(DatabaseReason.InvalidName, redact(error.message, secrets), false);
    }
    if (error instanceof OwnershipConflictError) {
      const what = `${error.object} ${error.objectName}`;
      const message = error.markedOwner
        ? `${what} on DatabaseServer ${server.name} belongs to MicroService ${error.markedOwner}; set spec.database.name to another name`
        : error.privileged
          ? `${what} exists on DatabaseServer ${server.name}, was not created by Flotilla and has administrative privileges: it is never adopted`
          : `${what} exists on DatabaseServer ${server.name} and was not created by Flotilla; it is left as it is (the DatabaseServer's spec.adoption can allow taking it over)`;
      return new ProvisionFailure(DatabaseReason.NameConflict, message, false);
    }
    const where = `DatabaseServer ${server.name} (${server.engine} ${server.host}:${server.port})`;
    const { reason, message } = classifyConnectionError(error, where, secrets);
    return new ProvisionFailure(reason, message, true);
  }

  /** The hash of the Secret `<name>-db` as cached, when it exists and is ours. */
  #existingCredentialsHash(ms: MicroService): string | undefined {
    const { name, namespace } = identityOf(ms);
    const secret = this.#options.secrets.get(`${namespace}/${databaseSecretName(name)}`);
    const ours = (secret?.metadata.ownerReferences ?? []).some((o) => o.uid === ms.metadata.uid && o.controller);
    if (!secret || !ours) return undefined;
    const data = decodeSecretData(secret);
    // The keys Flotilla writes, as on success (a key added by hand changes nothing).
    return computeCredentialsHash(Object.fromEntries(SECRET_KEYS.map((key) => [key, data[key] ?? ''])));
  }
}

const addressOf = (server: ServerInfo) => ({
  serverName: server.name,
  engine: server.engine,
  host: server.host,
  port: server.port,
});
