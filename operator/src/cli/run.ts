// `flotilla run`: the operator process. Loads the kubeconfig, starts the manager (leader election,
// the MicroService controller, health and metrics endpoints) and stops gracefully on SIGTERM/SIGINT.

import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { createAnalysisController } from '../controllers/analysis/controller.ts';
import { createDatabaseServerController } from '../controllers/databaseserver/controller.ts';
import { createMicroServiceController } from '../controllers/microservice/index.ts';
import { EngineRegistry, RedisEngineRegistry } from '../database/index.ts';
import { type Address, type ExitReason, startManager, stopOnSignals } from '../runtime/manager.ts';
import { loadKubeConfig, podNamespace } from './kubeconfig.ts';

export interface RunOptions {
  kubeconfig?: string;
  /** Watch one namespace; all when undefined. */
  namespace?: string;
  concurrency: number;
  leaderElect: boolean;
  leaderElectionNamespace?: string;
  leaderElectionName: string;
  leaderElectionIdentity?: string;
  leaseDurationSeconds: number;
  renewDeadlineSeconds: number;
  retryPeriodSeconds: number;
  /** `host:port` (port 0: any free port); `0` or an empty string turns the endpoint off. */
  healthProbeBindAddress: string;
  metricsBindAddress: string;
  /**
   * Run the DatabaseServer controller (the writer of DatabaseServer status). Default: only when
   * watching every namespace, so that namespaced installs sharing a cluster do not all write it.
   */
  databaseServerStatus?: boolean;
  /** The OTLP collector traced services send to. */
  otlpEndpoint?: string;
}

/** `127.0.0.1:8081` → {host, port}; `:8081` binds every address; undefined when off ('' or '0'). */
export function parseBindAddress(value: string): Address | undefined {
  if (value === '' || value === '0') return undefined;
  const colon = value.lastIndexOf(':');
  const host = colon < 0 ? '127.0.0.1' : value.slice(0, colon) || '0.0.0.0';
  const port = Number(colon < 0 ? value : value.slice(colon + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`not a host:port: ${value}`);
  return { host: host.replace(/^\[(.*)\]$/, '$1'), port };
}

/** Runs until stopped; resolves with why it stopped. */
export async function run(options: RunOptions, logger: Logger): Promise<ExitReason> {
  const { kubeConfig, source, inCluster } = loadKubeConfig(options.kubeconfig);
  const server = kubeConfig.getCurrentCluster()?.server;
  logger.info({ kubeconfig: source, server, namespace: options.namespace ?? '(all)' }, 'starting flotilla');
  const health = parseBindAddress(options.healthProbeBindAddress);
  const metrics = parseBindAddress(options.metricsBindAddress);
  const engines = new EngineRegistry();
  const cacheEngines = new RedisEngineRegistry();
  // Tests only: dies between writing a service's credentials Secret (database, or broker <name>-mq) and creating
  // its role or user (a crash there).
  const crashAfterSecret = process.env.FLOTILLA_TEST_CRASH_AFTER_DATABASE_SECRET === '1';
  const leaseNamespace = options.leaderElectionNamespace ?? (inCluster ? podNamespace() : undefined) ?? 'default';
  const manager = await startManager({
    kubeConfig,
    logger,
    ...(health ? { health } : {}),
    ...(metrics ? { metrics } : {}),
    ...(options.leaderElect
      ? {
          leaderElection: {
            namespace: leaseNamespace,
            name: options.leaderElectionName,
            identity: options.leaderElectionIdentity ?? `${hostname()}_${randomUUID()}`,
            leaseDurationMs: options.leaseDurationSeconds * 1000,
            renewDeadlineMs: options.renewDeadlineSeconds * 1000,
            retryPeriodMs: options.retryPeriodSeconds * 1000,
          },
        }
      : {}),
    controllers: ({ client, metrics: runtimeMetrics, logger: log }) => [
      createMicroServiceController({
        client,
        logger: log,
        metrics: runtimeMetrics,
        concurrency: options.concurrency,
        ...(options.namespace ? { namespace: options.namespace } : {}),
        ...(options.otlpEndpoint ? { otlpEndpoint: options.otlpEndpoint } : {}),
        databases: {
          engines,
          cacheEngines,
          ...(crashAfterSecret ? { afterSecretCreated: () => process.kill(process.pid, 'SIGKILL') } : {}),
        },
      }),
      ...((options.databaseServerStatus ?? !options.namespace)
        ? [
            createDatabaseServerController({
              client,
              logger: log,
              metrics: runtimeMetrics,
              engines,
              cacheEngines,
              // Counting the services that use a server needs every namespace's MicroServices.
              countServices: !options.namespace,
            }),
          ]
        : []),
      createAnalysisController({
        client,
        logger: log,
        metrics: runtimeMetrics,
        ...(options.namespace ? { namespace: options.namespace } : {}),
      }),
    ],
  });
  logger.info({ health: manager.healthUrl, metrics: manager.metricsUrl }, 'endpoints');
  stopOnSignals(manager, logger);
  const reason = await manager.done;
  await Promise.all([engines.closeAll(), cacheEngines.closeAll()]);
  return reason;
}
