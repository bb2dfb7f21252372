// The DatabaseServer controller: the only writer of a DatabaseServer's status. It logs in with the
// admin Secret and reports Ready (with the reason it cannot connect or authenticate, never the
// password), serverVersion and observedGeneration; it checks again periodically, sooner while not
// Ready. The engines (one bounded pool per server) are shared with the MicroService controller; a rabbitmq
// server is checked through its management API (stateless HTTP, nothing to share). It also
// counts the MicroServices that use each server (status.services) and those its allowedNamespaces refuses
// (status.refusedServices); a change of those alone reuses the last login check instead of logging in again.
import type { Logger } from 'pino';
import { type DatabaseServer, type DatabaseServerStatus, isDatabaseEngine } from '../../api/databaseserver.ts';
import type { MicroService } from '../../api/microservice.ts';
import { type Clock, systemClock } from '../../common/clock.ts';
import { type Condition, type ConditionFact, computeConditions } from '../../common/conditions.ts';
import type { AdminConnection, DatabaseEngineName, EngineRegistry, RedisEngineRegistry } from '../../database/index.ts';
import { createRabbitmqEngine } from '../../database/rabbitmq.ts';
import { formatKubeTime } from '../../kube/canonical.ts';
import type { KubeClient } from '../../kube/client.ts';
import { classifyError, isNotFound } from '../../kube/errors.ts';
import { type KubeObject, namespaceType, objectKey, secretType } from '../../kube/objects.ts';
import { syncStatus } from '../../kube/status.ts';
import { checkNamespaceAllowed } from '../../provisioning/tenancy.ts';
import { Controller, type ControllerOptions } from '../../runtime/controller.ts';
import type { RuntimeMetrics } from '../../runtime/metrics.ts';
import { databaseServerType, microServiceType } from '../microservice/resources.ts';

export const DatabaseServerReason = {
  /** The admin logged in; the server answered with its version. */
  Connected: 'Connected',
  AdminSecretNotFound: 'AdminSecretNotFound',
  AdminSecretInvalid: 'AdminSecretInvalid',
  AdminSecretForbidden: 'AdminSecretForbidden',
  // and the engine's: ConnectionRefused, HostNotFound, ConnectTimeout, AuthenticationFailed,
  // InsufficientPrivileges, ServerError.
} as const;

export interface DatabaseServerControllerOptions {
  client: KubeClient;
  logger: Logger;
  engines: EngineRegistry;
  /** The redis servers' connections (shared with the cache step); without them, redis servers are not checked. */
  cacheEngines?: RedisEngineRegistry;
  metrics?: RuntimeMetrics;
  clock?: Clock;
  /** How often a Ready server is checked again (default 60 s). */
  recheckIntervalMs?: number;
  /** How often a server that is not Ready is checked again (default 10 s). */
  retryIntervalMs?: number;
  reflector?: ControllerOptions['reflector'];
  /**
   * Count the MicroServices using each server (status.services, refusedServices): watches MicroServices and
   * Namespaces in every namespace. Default true; an operator confined to one namespace cannot see them all.
   */
  countServices?: boolean;
}

const decode = (value: unknown): string =>
  typeof value === 'string' ? Buffer.from(value, 'base64').toString('utf8') : '';

/** The engines this controller checks: the SQL ones, redis (with cacheEngines) and rabbitmq. */
type CheckedEngine = DatabaseEngineName | 'redis' | 'rabbitmq';

type Check = { ok: true; serverVersion: string } | { ok: false; reason: string; message: string };

/** The servers a MicroService's shared database, cache or broker user is on, if any. */
function serversOf(ms: MicroService): string[] {
  const database = ms.spec.database;
  const shared = database && (database.instance ?? 'shared') === 'shared' ? database.serverRef : undefined;
  return [shared, ms.spec.cache?.serverRef, ms.spec.messaging?.serverRef].filter(
    (name): name is string => typeof name === 'string' && name !== '',
  );
}

/**
 * How many MicroServices use `server` from namespaces it admits, and how many it refuses. Pure: `labels`
 * gives a namespace's labels (undefined when unknown).
 */
export function countServices(
  server: DatabaseServer,
  services: readonly MicroService[],
  labels: (namespace: string) => Readonly<Record<string, string>> | undefined,
): { services: number; refusedServices: number } {
  const name = server.metadata.name ?? '';
  let allowed = 0;
  let refused = 0;
  for (const ms of services) {
    if (!serversOf(ms).includes(name)) continue;
    const namespace = ms.metadata.namespace ?? '';
    if (checkNamespaceAllowed(name, server.spec, namespace, labels(namespace)).allowed) allowed++;
    else refused++;
  }
  return { services: allowed, refusedServices: refused };
}

export function createDatabaseServerController(options: DatabaseServerControllerOptions): Controller {
  const { client, logger, engines } = options;
  const clock = options.clock ?? systemClock;
  const recheckIntervalMs = options.recheckIntervalMs ?? 60_000;
  const retryIntervalMs = options.retryIntervalMs ?? 10_000;
  /** Per server: the last login check, for the generation it was made for, and when. */
  const lastChecks = new Map<string, { generation: number | undefined; at: number; result: Check }>();

  /** The login check, made again when due (or the spec changed); a reconcile for the counts reuses it. */
  async function checkWhenDue(server: DatabaseServer, engine: CheckedEngine): Promise<Check> {
    const name = server.metadata.name ?? '';
    const last = lastChecks.get(name);
    const now = clock.now();
    const due = last && now - last.at >= (last.result.ok ? recheckIntervalMs : retryIntervalMs) - 50;
    if (last && !due && last.generation === server.metadata.generation) return last.result;
    const result = await check(server, engine);
    lastChecks.set(name, { generation: server.metadata.generation, at: now, result });
    return result;
  }

  async function check(server: DatabaseServer, engine: CheckedEngine): Promise<Check> {
    const { host, port, adminSecretRef: ref } = server.spec;
    let secret: KubeObject;
    try {
      secret = await client.get(secretType, ref.name, ref.namespace);
    } catch (error) {
      if (classifyError(error) === 'forbidden') {
        return {
          ok: false,
          reason: DatabaseServerReason.AdminSecretForbidden,
          message: `the operator may not read the admin Secret ${ref.namespace}/${ref.name}`,
        };
      }
      if (!isNotFound(error)) throw error;
      return {
        ok: false,
        reason: DatabaseServerReason.AdminSecretNotFound,
        message: `the admin Secret ${ref.namespace}/${ref.name} does not exist`,
      };
    }
    const data = (secret.data ?? {}) as Record<string, unknown>;
    const username = decode(data.username);
    const password = decode(data.password);
    if (!username || !password) {
      return {
        ok: false,
        reason: DatabaseServerReason.AdminSecretInvalid,
        message: `the admin Secret ${ref.namespace}/${ref.name} needs the keys username and password`,
      };
    }
    if (engine === 'rabbitmq') {
      const managementUrl = server.spec.managementUrl ?? '';
      return createRabbitmqEngine({ managementUrl, username, password }).checkConnection();
    }
    if (engine === 'redis') {
      const cacheEngines = options.cacheEngines;
      if (!cacheEngines) throw new Error('no redis connections to check a redis server with');
      return cacheEngines.get(server.metadata.name ?? '', { host, port, username, password }).checkConnection();
    }
    const admin: AdminConnection = { engine, host, port, username, password };
    return engines.get(server.metadata.name ?? '', admin).checkConnection();
  }

  const controller: Controller = new Controller({
    client,
    primary: databaseServerType,
    logger,
    clock,
    concurrency: 2,
    secondary: !(options.countServices ?? true)
      ? []
      : [
          {
            type: microServiceType,
            keysFor: (ms: KubeObject) => serversOf(ms as MicroService).map((name) => objectKey({ metadata: { name } })),
          },
          // A namespace's labels change which servers admit it: every server is counted again.
          { type: namespaceType, keysFor: (): string[] => [...controller.cache(databaseServerType).keys()] },
        ],
    ...(options.metrics ? { metrics: options.metrics } : {}),
    ...(options.reflector ? { reflector: options.reflector } : {}),
    reconcile: async (key, { log }) => {
      const server = controller.cache<DatabaseServer & KubeObject>(databaseServerType).get(key);
      if (!server) {
        lastChecks.delete(key);
        await engines.forget(key);
        return undefined;
      }
      const engine: string = server.spec.engine;
      const redis = engine === 'redis' && options.cacheEngines !== undefined;
      if (!isDatabaseEngine(engine) && !redis && engine !== 'rabbitmq') {
        // Not a SQL server, and no redis connections were given: its check belongs elsewhere.
        log.debug({ engine }, 'not a postgres or mysql server; not checked here');
        return undefined;
      }
      const result = await checkWhenDue(server, engine as CheckedEngine);
      const fact: ConditionFact = result.ok
        ? {
            type: 'Ready',
            status: 'True',
            reason: DatabaseServerReason.Connected,
            message: `logged in as the admin; ${server.spec.engine} ${result.serverVersion}`,
          }
        : { type: 'Ready', status: 'False', reason: result.reason, message: result.message };
      const previous = (server.status?.conditions ?? []) as Condition[];
      const now = formatKubeTime(new Date(clock.now()));
      const generation = server.metadata.generation;
      const status: DatabaseServerStatus = {
        conditions: computeConditions(previous, [fact], now, generation),
      };
      const version = result.ok ? result.serverVersion : server.status?.serverVersion;
      if (version !== undefined) status.serverVersion = version;
      if (options.countServices ?? true) {
        const namespaces = controller.cache(namespaceType);
        const services = controller.cache<MicroService>(microServiceType).list();
        Object.assign(
          status,
          countServices(server, services, (namespace) => namespaces.get(namespace)?.metadata.labels),
        );
      }
      if (generation !== undefined) status.observedGeneration = generation;
      const written = await syncStatus(client, databaseServerType, server, status);
      if (written) {
        (result.ok ? log.info : log.warn).call(log, { ready: fact.status, reason: fact.reason }, fact.message);
      }
      return { requeueAfterMs: result.ok ? recheckIntervalMs : retryIntervalMs };
    },
  });
  return controller;
}
