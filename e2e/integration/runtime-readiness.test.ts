// /readyz tells whether the process can do its job: a standby or a single process that cannot reach
// the API server answers 503 once the contact bound has passed, and 200 again when the API server
// answers again. The API server is real; the outage is a TCP relay in front of it that this test
// closes (the shared API server itself keeps running for the other tests).
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { createKubeClient, type KubeClient } from '../../operator/src/kube/client.ts';
import { configMapType, leaseType } from '../../operator/src/kube/objects.ts';
import { Controller } from '../../operator/src/runtime/controller.ts';
import { formatMicroTime } from '../../operator/src/runtime/lease-decision.ts';
import { type ManagerOptions, type RunningManager, startManager } from '../../operator/src/runtime/manager.ts';
import { connectToCluster } from '../support/cluster.ts';
import { eventually } from '../support/eventually.ts';
import { ensureNamespace, uniqueName } from './runtime-helpers.ts';

const cluster = await connectToCluster();
const namespace = 'runtime-readiness';
const logger = pino({ level: process.env.LOG_LEVEL ?? 'silent' });
const CONTACT_BOUND_MS = 3_000;

/** A TCP relay to the API server that can be cut (every connection closed, new ones refused) and restored. */
class Relay {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly target: URL;
  port = 0;
  constructor(target: URL) {
    this.target = target;
  }

  async open(): Promise<void> {
    const server = createServer((inbound) => {
      const outbound = tcpConnect(Number(this.target.port || 443), this.target.hostname);
      for (const socket of [inbound, outbound]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => {});
      }
      inbound.pipe(outbound).pipe(inbound);
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as { port: number }).port;
    this.server = server;
  }

  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    if (server) await new Promise((resolve) => server.close(resolve));
  }
}

function kubeConfigThrough(relay: Relay): KubeConfig {
  const source = cluster.kubeConfig;
  const through = new KubeConfig();
  through.loadFromOptions({
    clusters: source.clusters.map((c) => ({ ...c, server: `https://127.0.0.1:${relay.port}` })),
    users: source.users,
    contexts: source.contexts,
    currentContext: source.currentContext,
  });
  return through;
}

async function readyz(
  manager: RunningManager,
): Promise<{ status: number; body: { ready: boolean; role: string; reason?: string } }> {
  const response = await fetch(`${manager.healthUrl}/readyz`);
  return {
    status: response.status,
    body: (await response.json()) as { ready: boolean; role: string; reason?: string },
  };
}

async function expectReadiness(manager: RunningManager, status: number, role: string, within = 20_000) {
  await eventually(
    `/readyz ${status} (${role})`,
    async () => {
      const answer = await readyz(manager);
      assert.equal(answer.status, status, JSON.stringify(answer.body));
      assert.equal(answer.body.role, role);
      if (status === 503) assert.match(answer.body.reason ?? '', /no answer from the API server/);
    },
    { timeoutMs: within },
  );
}

/** A manager whose every request goes through a fresh relay, with a short contact bound. */
async function startBehindRelay(
  options: Pick<ManagerOptions, 'leaderElection' | 'controllers'>,
): Promise<{ relay: Relay; manager: RunningManager }> {
  const relay = new Relay(new URL(cluster.kubeConfig.getCurrentCluster()?.server ?? 'https://missing'));
  await relay.open();
  const manager = await startManager({
    ...options,
    kubeConfig: kubeConfigThrough(relay),
    logger,
    contactBoundMs: CONTACT_BOUND_MS,
    health: { host: '127.0.0.1', port: 0 },
  });
  return { relay, manager };
}

describe('readiness bound on contact with the API server', () => {
  let client: KubeClient;
  before(async () => {
    await ensureNamespace(cluster, namespace);
    client = await createKubeClient(cluster.kubeConfig);
  });
  after(() => client.close());

  it('a standby that cannot reach the API server is not ready, and is again once it can', {
    timeout: 90_000,
  }, async () => {
    const lease = uniqueName('lease');
    // Another candidate holds the Lease for an hour: the manager stays a standby.
    await client.create(leaseType, {
      metadata: { name: lease, namespace },
      spec: {
        holderIdentity: 'someone-else',
        leaseDurationSeconds: 3600,
        acquireTime: formatMicroTime(Date.now()),
        renewTime: formatMicroTime(Date.now()),
      },
    });
    const { relay, manager } = await startBehindRelay({
      leaderElection: { namespace, name: lease, identity: 'readiness-test', retryPeriodMs: 500 },
      controllers: () => [],
    });
    try {
      await expectReadiness(manager, 200, 'standby');
      const cutAt = Date.now();
      await relay.cut();
      await expectReadiness(manager, 503, 'standby');
      assert.ok(Date.now() - cutAt >= CONTACT_BOUND_MS - 500, 'not ready before the bound passed');
      await relay.open();
      await expectReadiness(manager, 200, 'standby');
    } finally {
      await relay.cut();
      await manager.stop();
      await client.delete(leaseType, lease, namespace).catch(() => {});
    }
  });

  it('an idle single process (no leader election) that cannot reach the API server is not ready', {
    timeout: 90_000,
  }, async () => {
    const { relay, manager } = await startBehindRelay({
      controllers: ({ client: fenced, metrics }) => [
        new Controller({
          client: fenced,
          primary: configMapType,
          namespace,
          logger,
          metrics,
          reconcile: async () => {},
        }),
      ],
    });
    try {
      await expectReadiness(manager, 200, 'single');
      // Idle for longer than the bound: the heartbeat keeps it ready.
      await new Promise((resolve) => setTimeout(resolve, CONTACT_BOUND_MS * 1.5));
      assert.equal((await readyz(manager)).status, 200);
      await relay.cut();
      await expectReadiness(manager, 503, 'single');
      await relay.open();
      await expectReadiness(manager, 200, 'single');
    } finally {
      await relay.cut();
      await manager.stop();
    }
  });
});
