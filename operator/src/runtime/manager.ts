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
import { computeReadiness, latestOf, type Role } from './readiness.ts';

/** /readyz fails once the API server has not answered for this long (leader election polls every 2 s). */
export const DEFAULT_CONTACT_BOUND_MS = 30_000;

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
  /** /readyz fails when nothing was heard from the API server for this long (DEFAULT_CONTACT_BOUND_MS). */
  contactBoundMs?: number;
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
  const contactBoundMs = options.contactBoundMs ?? DEFAULT_CONTACT_BOUND_MS;
  // Any answer of the API server but a 5xx is contact: it is there and serving this process.
  let lastAnswerAt: number | undefined;
  const base = await createKubeClient(options.kubeConfig, {
    observer: (verb, code, durationMs) => {
      if (code !== 'error' && !code.startsWith('5')) lastAnswerAt = Date.now();
      metrics.requestObserver(verb, code, durationMs);
    },
  });
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

  const kindHealth = () => controllers.flatMap((controller) => controller.health());
  /** The API server's last answer to any request, or the last event of any watch. */
  const lastContactAt = () =>
    latestOf([
      lastAnswerAt,
      ...kindHealth().map((kind) => (kind.lastEventAt ? Date.parse(kind.lastEventAt) : undefined)),
    ]);
  const readiness = () => {
    const kinds = kindHealth();
    const role: Role = !elector ? 'single' : elector.isLeader ? 'leader' : 'standby';
    const contact = lastContactAt();
    const verdict = computeReadiness({
      role,
      cachesSynced: controllers.length > 0 && controllers.every((c) => c.synced),
      lastContactAt: contact,
      now: Date.now(),
      contactBoundMs,
    });
    return {
      ...verdict,
      role,
      lastContactAt: contact === undefined ? undefined : new Date(contact).toISOString(),
      kinds,
    };
  };
  // Without leader election (which asks every retry period) an idle process may send nothing for
  // minutes: it asks for /version when it has heard nothing for a third of the bound.
  const heartbeat = setInterval(
    () => {
      if (Date.now() - (lastContactAt() ?? 0) < contactBoundMs / 3) return;
      base.transport
        .request({ verb: 'GET', path: '/version', signal: AbortSignal.timeout(contactBoundMs) })
        .then((response) => response.body.dump())
        .catch(() => {});
    },
    Math.max(100, Math.floor(contactBoundMs / 3)),
  );
  heartbeat.unref();
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
      clearInterval(heartbeat);
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
