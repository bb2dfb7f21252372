// The manager runs the operator process: one API transport (with request metrics), optional
// leader election, the controllers (built and started only while leading), the health and metrics
// endpoints, and a graceful shutdown: stop taking work, finish in-flight reconciles, release the
// Lease, close the connections. `flotilla run` builds its options from flags and environment.

import type { Logger } from 'pino';
import { createKubeClient, type KubeClient } from '../kube/client.ts';
import type { KubeAccess } from '../kube/kubeconfig.ts';
import type { Controller } from './controller.ts';
import { type RunningEndpoints, serveEndpoints } from './http-endpoints.ts';
import { type LeaderElectionOptions, LeaderElector } from './leader-election.ts';
import { createRuntimeMetrics, type RuntimeMetrics } from './metrics.ts';

export type LeaderElectionSettings = Pick<
  LeaderElectionOptions,
  'namespace' | 'name' | 'identity' | 'leaseDurationMs' | 'renewDeadlineMs' | 'retryPeriodMs'
>;

export interface Address {
  host?: string;
  port: number;
}

export interface ManagerOptions {
  kubeConfig: KubeAccess;
  logger: Logger;
  /** Builds the controllers with a client whose writes are fenced by leader election. */
  controllers: (context: { client: KubeClient; metrics: RuntimeMetrics; logger: Logger }) => Controller[];
  /** Off when undefined. */
  leaderElection?: LeaderElectionSettings;
  health?: Address;
  metrics?: Address;
}

export type ExitReason = 'stopped' | 'lost-leadership';

export interface RunningManager {
  metrics: RuntimeMetrics;
  /** URLs of the endpoints, when served. */
  healthUrl: string | undefined;
  metricsUrl: string | undefined;
  /** Resolves when the manager has stopped: by stop(), or because leadership was lost (exit then). */
  done: Promise<ExitReason>;
  stop(): Promise<void>;
}

export async function startManager(options: ManagerOptions): Promise<RunningManager> {
  const { logger } = options;
  const metrics = createRuntimeMetrics();
  const base = await createKubeClient(options.kubeConfig, { observer: metrics.requestObserver });
  let controllers: Controller[] = [];
  const startControllers = () => {
    metrics.leader.set(1);
    controllers = options.controllers({ client, metrics, logger });
    for (const controller of controllers) {
      controller.start().catch((error: unknown) => logger.error({ err: error }, 'controller failed to start'));
    }
  };
  const elector = options.leaderElection
    ? new LeaderElector({
        client: base,
        ...options.leaderElection,
        onStartedLeading: () => {
          logger.info('became leader');
          startControllers();
        },
        onError: (error) => logger.warn({ err: error }, 'leader election request failed'),
      })
    : undefined;
  const client = elector ? base.withWriteGuard(elector.canWrite) : base;

  const readiness = () => {
    const kinds = controllers.flatMap((controller) => controller.health());
    const role = !elector ? 'single' : elector.isLeader ? 'leader' : 'standby';
    // A standby is ready: it is healthy and waiting. A leader is ready once its caches synced.
    const ready = role === 'standby' || (controllers.length > 0 && controllers.every((c) => c.synced));
    return { ready, role, kinds };
  };
  const endpoints: RunningEndpoints[] = [];
  if (options.health) endpoints.push(await serveEndpoints({ ...options.health, readiness }));
  if (options.metrics) endpoints.push(await serveEndpoints({ ...options.metrics, metrics: metrics.registry }));

  let stopping: Promise<void> | undefined;
  let resolveDone: (reason: ExitReason) => void = () => {};
  const done = new Promise<ExitReason>((resolve) => {
    resolveDone = resolve;
  });

  const shutdown = (reason: ExitReason): Promise<void> => {
    stopping ??= (async () => {
      logger.info({ reason }, 'shutting down: finishing in-flight reconciles');
      await Promise.all(controllers.map((controller) => controller.stop()));
      await elector?.stop();
      metrics.leader.set(0);
      await Promise.all(endpoints.map((endpoint) => endpoint.close()));
      await base.close();
      logger.info({ reason }, 'stopped');
      resolveDone(reason);
    })();
    return stopping;
  };

  if (elector) {
    logger.info({ identity: options.leaderElection?.identity }, 'campaigning for leadership');
    void elector.run().then(() => {
      if (!stopping) {
        logger.error('lost leadership; exiting so that a fresh process campaigns again');
        void shutdown('lost-leadership');
      }
    });
  } else {
    startControllers();
  }

  const urlOf = (index: number) => endpoints[index]?.url;
  return {
    metrics,
    healthUrl: options.health ? urlOf(0) : undefined,
    metricsUrl: options.metrics ? urlOf(options.health ? 1 : 0) : undefined,
    done,
    stop: () => shutdown('stopped'),
  };
}

/** SIGTERM and SIGINT stop the manager gracefully; a second signal exits at once. */
export function stopOnSignals(manager: RunningManager, logger: Logger): void {
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) process.exit(1);
    signalled = true;
    logger.info({ signal }, 'signal received');
    void manager.stop();
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
}
