// The DatabaseServer controller: the only writer of a DatabaseServer's status. It logs in with the
// admin Secret and reports Ready (with the reason it cannot connect or authenticate, never the
// password), serverVersion and observedGeneration; it checks again periodically, sooner while not
// Ready. The engines (one bounded pool per server) are shared with the MicroService controller.
import type { Logger } from 'pino';
import type { DatabaseServer, DatabaseServerStatus } from '../../api/databaseserver.ts';
import { type Clock, systemClock } from '../../common/clock.ts';
import type { AdminConnection, DatabaseEngineName, EngineRegistry, RedisEngineRegistry } from '../../database/index.ts';
import { formatKubeTime } from '../../kube/canonical.ts';
import type { KubeClient } from '../../kube/client.ts';
import { classifyError, isNotFound } from '../../kube/errors.ts';
import { type KubeObject, secretType } from '../../kube/objects.ts';
import { syncStatus } from '../../kube/status.ts';
import { Controller, type ControllerOptions } from '../../runtime/controller.ts';
import type { RuntimeMetrics } from '../../runtime/metrics.ts';
import { type Condition, type ConditionFact, computeConditions } from '../microservice/conditions.ts';
import { databaseServerType } from '../microservice/resources.ts';

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
}

const decode = (value: unknown): string =>
  typeof value === 'string' ? Buffer.from(value, 'base64').toString('utf8') : '';

type Check = { ok: true; serverVersion: string } | { ok: false; reason: string; message: string };

export function createDatabaseServerController(options: DatabaseServerControllerOptions): Controller {
  const { client, logger, engines } = options;
  const clock = options.clock ?? systemClock;
  const recheckIntervalMs = options.recheckIntervalMs ?? 60_000;
  const retryIntervalMs = options.retryIntervalMs ?? 10_000;

  async function check(server: DatabaseServer, engine: DatabaseEngineName | 'redis'): Promise<Check> {
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
    if (engine === 'redis') {
      const cacheEngines = options.cacheEngines;
      if (!cacheEngines) throw new Error('no redis connections to check a redis server with');
      return cacheEngines.get(server.metadata.name ?? '', { host, port, username, password }).checkConnection();
    }
    const admin: AdminConnection = { engine, host, port, username, password };
    return engines.get(server.metadata.name ?? '', admin).checkConnection();
  }

  const controller = new Controller({
    client,
    primary: databaseServerType,
    logger,
    clock,
    concurrency: 2,
    ...(options.metrics ? { metrics: options.metrics } : {}),
    ...(options.reflector ? { reflector: options.reflector } : {}),
    reconcile: async (key, { log }) => {
      const server = controller.cache<DatabaseServer & KubeObject>(databaseServerType).get(key);
      if (!server) {
        await engines.forget(key);
        return undefined;
      }
      const engine: string = server.spec.engine;
      const redis = engine === 'redis' && options.cacheEngines !== undefined;
      if (engine !== 'postgres' && engine !== 'mysql' && !redis) {
        // Not a SQL server, and no redis connections were given: its check belongs elsewhere.
        log.debug({ engine }, 'not a postgres or mysql server; not checked here');
        return undefined;
      }
      const result = await check(server, engine as DatabaseEngineName | 'redis');
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
