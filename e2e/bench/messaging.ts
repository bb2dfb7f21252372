// The broker figures of `npm run bench -- databases` (also alone: `node e2e/bench/messaging.ts`): 100
// MicroServices with messaging created at once on the private RabbitMQ of `npm run databases` — the time until
// all are MessagingReady, beside a plain loop of the same management API writes (vhost, user, permissions,
// limits) in the same run; then a second reconcile of all 100 by a restarted controller, which must make no
// management API write; then their deletion (reclaimPolicy Delete). It prints; it asserts nothing.
import { pino } from 'pino';
import { createMicroServiceController } from '../../operator/src/controllers/microservice/index.ts';
import { databaseServerType, microServiceType } from '../../operator/src/controllers/microservice/resources.ts';
import {
  type BrokerAdminConnection,
  buildBrokerPermissions,
  DEFAULT_MAX_CHANNELS,
  DEFAULT_MAX_CONNECTIONS,
} from '../../operator/src/database/broker-user.ts';
import { EngineRegistry, generatePassword } from '../../operator/src/database/index.ts';
import { type BrokerEngine, createRabbitmqEngine } from '../../operator/src/database/rabbitmq.ts';
import { createKubeClient, type KubeClient } from '../../operator/src/kube/client.ts';
import type { KubeObject } from '../../operator/src/kube/objects.ts';
import { rabbitmqServer } from '../databases/rabbitmq.ts';
import { createRabbitmqServer, managementApi, usersIn } from '../integration/messaging-support.ts';
import { ensureNamespace } from '../integration/runtime-helpers.ts';
import { connectToCluster, type TestCluster } from '../support/cluster.ts';

const SCALE = Number(process.env.FLOTILLA_BENCH_SCALE ?? 1);
const SERVICES = Math.max(2, Math.round(100 * SCALE));
const CONCURRENCY = 4;

type Print = (line?: string) => void;

async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs = 600_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const messagingReady = (ms: KubeObject): boolean =>
  ((ms.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? []).some(
    (c) => c.type === 'MessagingReady' && c.status === 'True',
  );

/**
 * Every engine the provisioner makes (one per provisioning), so that their writes can be summed, and the time
 * spent waiting for the management API (summed over the workers).
 */
function countingEngines() {
  const made: BrokerEngine[] = [];
  let brokerMs = 0;
  const timed =
    <A extends unknown[], R>(work: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      const started = performance.now();
      try {
        return await work(...args);
      } finally {
        brokerMs += performance.now() - started;
      }
    };
  return {
    create: (admin: BrokerAdminConnection): BrokerEngine => {
      const engine = createRabbitmqEngine(admin);
      made.push(engine);
      return {
        engine: 'rabbitmq',
        get writes() {
          return engine.writes;
        },
        checkConnection: timed(engine.checkConnection),
        checkBrokerOwnership: timed(engine.checkBrokerOwnership),
        ensureBrokerUser: timed(engine.ensureBrokerUser),
        dropBrokerUser: timed(engine.dropBrokerUser),
      };
    },
    made: () => made.length,
    writes: () => made.reduce((sum, engine) => sum + engine.writes, 0),
    brokerMs: () => brokerMs,
  };
}

function startController(client: KubeClient, namespace: string, engines: ReturnType<typeof countingEngines>) {
  return createMicroServiceController({
    client,
    logger: pino({ level: 'silent' }),
    namespace,
    concurrency: CONCURRENCY,
    databases: { engines: new EngineRegistry(), brokerEngine: engines.create },
  });
}

async function benchBroker(cluster: TestCluster, client: KubeClient, print: Print): Promise<void> {
  const id = Date.now().toString(36);
  const namespace = `flotilla-bench-mq-${id}`;
  const plainVhost = `flotilla-bench-plain-${id}`;
  const broker = await rabbitmqServer();
  const api = managementApi(broker);
  const engines = countingEngines();
  let controller = startController(client, namespace, engines);
  try {
    await ensureNamespace(cluster, namespace);
    await createRabbitmqServer(cluster, namespace, namespace, broker);
    await controller.start();
    await waitUntil('the DatabaseServer in the cache', async () =>
      Boolean(controller.cache(databaseServerType).get(namespace)),
    );

    const started = performance.now();
    await Promise.all(
      Array.from({ length: SERVICES }, (_, i) =>
        client.create(microServiceType, {
          apiVersion: 'flotilla.dev/v1alpha1',
          kind: 'MicroService',
          metadata: { name: `svc-${i}`, namespace },
          spec: {
            image: `registry.example.com/bench/svc-${i}:1`,
            messaging: {
              serverRef: namespace,
              reclaimPolicy: 'Delete',
              ...(i > 0 ? { subscribesTo: [`svc-${i - 1}`] } : {}),
            },
          },
        }),
      ),
    );
    await waitUntil(`${SERVICES} MessagingReady`, async () => {
      const { items } = await client.list(microServiceType, { namespace });
      return items.filter(messagingReady).length === SERVICES;
    });
    const operatorMs = performance.now() - started;
    const firstWrites = engines.writes();
    const firstBrokerMs = engines.brokerMs();

    // The same writes, one after the other, with nothing around them.
    const plainStarted = performance.now();
    await api('PUT', `/vhosts/${plainVhost}`, {});
    for (let i = 0; i < SERVICES; i++) {
      const user = encodeURIComponent(`${plainVhost}.svc-${i}`);
      await api('PUT', `/users/${user}`, { password: generatePassword(), tags: `flotilla.dev/owner=bench/svc-${i}` });
      const permissions = buildBrokerPermissions(`svc-${i}`, true, i > 0 ? [`svc-${i - 1}`] : []);
      await api('PUT', `/permissions/${plainVhost}/${user}`, permissions);
      await api('PUT', `/user-limits/${user}/max-connections`, { value: DEFAULT_MAX_CONNECTIONS });
      await api('PUT', `/user-limits/${user}/max-channels`, { value: DEFAULT_MAX_CHANNELS });
    }
    const plainMs = performance.now() - plainStarted;

    // A controller started afresh reconciles every service once: all is in place, so it writes nothing.
    await controller.stop();
    const madeBefore = engines.made();
    const writesBefore = engines.writes();
    controller = startController(client, namespace, engines);
    const againStarted = performance.now();
    await controller.start();
    await waitUntil(`${SERVICES} services provisioned again`, async () => engines.made() - madeBefore >= SERVICES);
    const againMs = performance.now() - againStarted;
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const secondWrites = engines.writes() - writesBefore;

    const reclaimStarted = performance.now();
    await cluster.kubectl(['-n', namespace, 'delete', 'microservices', '--all', '--wait=true', '--timeout=600s']);
    const reclaimMs = performance.now() - reclaimStarted;
    const left = (await usersIn(broker, namespace)).length;

    const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
    print(
      `  RabbitMQ ${broker.managementUrl}, ${SERVICES} services (each subscribed to the one before), --concurrency ${CONCURRENCY}`,
    );
    print(
      `    operator: created at once → all MessagingReady  ${s(operatorMs).padStart(9)}   (${firstWrites} management API writes)`,
    );
    print(
      `      of which waiting for the management API      ${s(firstBrokerMs / CONCURRENCY).padStart(9)}   (summed over the workers / ${CONCURRENCY})`,
    );
    print(`    plain loop of the same writes (${SERVICES * 4 + 1} PUTs)          ${s(plainMs).padStart(9)}`);
    print(
      `    ratio operator / plain loop                     ${(operatorMs / plainMs).toFixed(2).padStart(7)}×   (goal ≤ 1.5×)`,
    );
    print(
      `    second reconcile of all ${SERVICES} (restarted operator)  ${s(againMs).padStart(9)}   (${secondWrites} management API writes; goal 0)`,
    );
    print(`    deleted (reclaimPolicy Delete) → all gone       ${s(reclaimMs).padStart(9)}   (${left} users left)`);
  } finally {
    await controller.stop();
    for (const user of await usersIn(broker, plainVhost).catch(() => [])) {
      await api('DELETE', `/users/${encodeURIComponent(user)}`);
    }
    for (const user of await usersIn(broker, namespace).catch(() => [])) {
      await api('DELETE', `/users/${encodeURIComponent(user)}`);
    }
    await api('DELETE', `/vhosts/${plainVhost}`).catch(() => undefined);
    await api('DELETE', `/vhosts/${namespace}`).catch(() => undefined);
    await cluster.kubectl(['delete', 'databaseserver', namespace, '--ignore-not-found']).catch(() => '');
    await cluster.kubectl(['delete', 'namespace', namespace, '--wait=false', '--ignore-not-found']).catch(() => '');
  }
}

/** Prints the broker figures (a broker that cannot be had is said, not measured). */
export async function benchMessaging(print: Print = (line = '') => console.log(line)): Promise<void> {
  const cluster = await connectToCluster();
  const client = await createKubeClient(cluster.kubeConfig);
  try {
    print(`4b. messaging: ${SERVICES} MicroServices with a RabbitMQ user, created at once`);
    try {
      await benchBroker(cluster, client, print);
    } catch (error) {
      print(`  rabbitmq: not measured: ${error instanceof Error ? error.message : String(error)}`);
    }
    print();
  } finally {
    await client.close();
  }
}

if (import.meta.main) await benchMessaging();
