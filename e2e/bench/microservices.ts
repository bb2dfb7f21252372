// The MicroService scenario of `npm run bench` (`npm run bench -- microservices` runs it alone):
// 200 realistic MicroServices created at once, with the operator running as users run it
// (the bundle of `npm run build`, a process of its own, with the node flags of the image's
// ENTRYPOINT), timed until every one is Ready; beside
// it, in the same run, a plain loop that creates the very same child objects through the same
// client with the same parallelism, timed until their Deployments are available (the API server's
// and the cluster's own limit). Also: the operator's write requests per MicroService (from its
// /metrics, by verb) and its peak RSS (VmHWM of /proc/<pid>/status).
//
// The local cluster has 2 simulated nodes of 110 pods each, so each service runs 1 pod, and the
// two halves run one after the other: the plain loop's namespace is deleted (its pods gone) before
// the operator's half starts. Route CRDs (Istio, Gateway API) are not installed by the bench — the
// cluster is shared — so routes are written exactly when the cluster already serves them.
import { readFile } from 'node:fs/promises';
import type { V1Deployment } from '@kubernetes/client-node';
import type { MicroService } from '../../operator/src/api/microservice.ts';
import {
  ConditionType,
  discoverRouters,
  microServiceType,
  plan,
  ROUTE_CHILD_TYPES,
} from '../../operator/src/controllers/microservice/index.ts';
import { crdName } from '../../operator/src/controllers/microservice/resources.ts';
import { buildDeployment } from '../../operator/src/desired/index.ts';
import type { KubeClient } from '../../operator/src/kube/client.ts';
import { classifyError, isConflict, isNotFound } from '../../operator/src/kube/errors.ts';
import {
  apiVersionOf,
  customResourceDefinitionType,
  deploymentType,
  type KubeObject,
  type ResourceType,
} from '../../operator/src/kube/objects.ts';
import { computeDeploymentHealth } from '../../operator/src/release/workloads.ts';
import { ObjectCache } from '../../operator/src/runtime/object-cache.ts';
import { Reflector } from '../../operator/src/runtime/reflector.ts';
import type { OperatorProcess } from '../integration/microservice-support.ts';
import type { TestCluster } from '../support/cluster.ts';
import {
  type HeapFigures,
  heapFigures,
  parseProcStatus,
  peakOf,
  requestsByVerb,
  samplesOf,
  writeCounts,
} from './metrics-text.ts';
import { OPERATOR_COMMAND, startBundledOperator } from './operator-build.ts';
import { formatNumber, verdict } from './stats.ts';

const SERVICES = 200;
/** What the operator runs with by default (`flotilla run --concurrency`), and so the plain loop too. */
const OPERATOR_CONCURRENCY = 4;
/** The MicroServices themselves are created as `kubectl apply` of a directory would, but all at once. */
const MS_CREATE_PARALLELISM = 32;
const GOAL_RATIO = 1.5;
const GOAL_EXTRA_WRITES = 2;
const GOAL_RSS_MIB = 200;
const READY_TIMEOUT_MS = 600_000;
/** After all are Ready, the write count is read again once it has not moved for this long. */
const SETTLE_MS = 5_000;

const podType: ResourceType = { group: '', version: 'v1', kind: 'Pod', plural: 'pods', namespaced: true };
const nodeType: ResourceType = { group: '', version: 'v1', kind: 'Node', plural: 'nodes', namespaced: false };

export interface MicroServiceBenchOptions {
  cluster: TestCluster;
  client: KubeClient;
  scale: number;
  print: (line?: string) => void;
}

/** The name of service `index`: svc-007. */
export const serviceName = (index: number): string => `svc-${String(index).padStart(3, '0')}`;

/**
 * Service `index` of `count`, shaped like samples/21-orders.yaml without its database: ports, env
 * (one from the downward API), resources, probes, autoscaling for every third, a traffic policy,
 * exposure for every tenth, and dependsOn up to two earlier services. One pod each.
 */
export function benchMicroService(index: number, count: number, namespace: string) {
  const name = serviceName(index);
  const autoscaled = index % 3 === 0;
  const dependsOn = [index - 1, index - 7].filter((i) => i >= 0 && i < count).map(serviceName);
  const spec: Record<string, unknown> = {
    image: `registry.example.com/bench/${name}:1.${index % 10}.${index % 7}`,
    ports: [
      { name: 'http', port: 8000 + (index % 1000), targetPort: 8080 },
      ...(index % 2 === 0 ? [{ name: 'metrics', port: 9090, targetPort: 9090 }] : []),
    ],
    env: [
      { name: 'LOG_FORMAT', value: 'json' },
      { name: 'SERVICE_INDEX', value: String(index) },
      { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    ],
    resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '128Mi' } },
    probes: {
      readiness: { httpGet: { path: '/healthz', port: 'http' } },
      ...(index % 2 === 1 ? { liveness: { httpGet: { path: '/livez', port: 'http' }, periodSeconds: 20 } } : {}),
    },
    traffic: {
      timeout: '2s',
      retries: { attempts: 3, perTryTimeout: '500ms', retryOn: '5xx,reset,connect-failure' },
      circuitBreaker: { consecutiveErrors: 5, interval: '10s', baseEjectionTime: '60s', maxEjectionPercent: 50 },
      connectionPool: { maxConnections: 100, maxPendingRequests: 100 },
    },
    ...(autoscaled
      ? { autoscaling: { minReplicas: 1, maxReplicas: 5, targetCPUUtilizationPercentage: 70 } }
      : { replicas: 1 }),
    ...(index % 10 === 0
      ? { expose: { gateway: 'istio-system/public', hosts: ['api.example.com'], pathPrefix: `/${name}` } }
      : {}),
    ...(dependsOn.length > 0 ? { dependsOn } : {}),
  };
  return { apiVersion: 'flotilla.dev/v1alpha1', kind: 'MicroService', metadata: { name, namespace }, spec };
}

/** Whether the MicroService's status says Ready=True for its current generation. */
export function isReady(ms: KubeObject): boolean {
  const status = ms.status as { observedGeneration?: number; conditions?: { type: string; status: string }[] };
  if (status?.observedGeneration !== ms.metadata.generation) return false;
  return (status?.conditions ?? []).some((c) => c.type === ConditionType.Ready && c.status === 'True');
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const times = (n: number) => `${n.toFixed(2)}×`;
const mib = (n: number) => `${n.toFixed(0)} MiB`;
const perService = (n: number) => n.toFixed(2);

/** Runs `task` over `items` with `parallelism` workers; a 429 or transient error is retried. */
export async function inParallel<T>(items: readonly T[], parallelism: number, task: (item: T) => Promise<void>) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      for (let attempt = 1; ; attempt++) {
        try {
          await task(item);
          break;
        } catch (error) {
          if (attempt >= 5 || classifyError(error) !== 'transient') throw error;
          await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
        }
      }
    }
  };
  await Promise.all(Array.from({ length: parallelism }, worker));
}

/** A list+watch of `type` in `namespace`; resolves when `done(cache)` holds after an event, or rejects after the timeout. */
export async function watchUntil(
  client: KubeClient,
  type: ResourceType,
  namespace: string,
  done: (cache: ObjectCache) => boolean,
  what: string,
): Promise<{ reached: Promise<number>; stop: () => Promise<void> }> {
  const cache = new ObjectCache();
  const reflector = new Reflector({ client, type, cache, namespace });
  let resolve: (at: number) => void = () => {};
  let reject: (error: Error) => void = () => {};
  const reached = new Promise<number>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  reached.catch(() => {});
  let timer: NodeJS.Timeout | undefined;
  const check = () => {
    if (done(cache)) {
      clearTimeout(timer);
      resolve(performance.now());
    }
  };
  cache.subscribe(check);
  reflector.start();
  await reflector.waitForSync();
  timer = setTimeout(
    () => reject(new Error(`${what}: not reached within ${READY_TIMEOUT_MS / 1000} s`)),
    READY_TIMEOUT_MS,
  );
  return {
    reached,
    stop: async () => {
      clearTimeout(timer);
      await reflector.stop();
    },
  };
}

export async function createNamespace(client: KubeClient, name: string): Promise<void> {
  await client.create(
    { group: '', version: 'v1', kind: 'Namespace', plural: 'namespaces', namespaced: false },
    {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name, labels: { 'flotilla.dev/bench': 'true' } },
    },
  );
}

export async function deleteNamespace(options: MicroServiceBenchOptions, name: string): Promise<void> {
  const started = performance.now();
  await options.cluster.kubectl(['delete', 'namespace', name, '--ignore-not-found', '--timeout=300s']);
  options.print(`  namespace ${name} deleted in ${seconds(performance.now() - started)}`);
}

/** Pods the cluster's nodes may still take: allocatable pods minus the pods not yet finished. */
export async function freePodSlots(client: KubeClient): Promise<{ free: number; allocatable: number }> {
  const nodes = await client.list(nodeType);
  const allocatable = nodes.items.reduce(
    (sum, node) => sum + Number((node.status as { allocatable?: { pods?: string } })?.allocatable?.pods ?? 0),
    0,
  );
  const pods = await client.list(podType);
  const running = pods.items.filter((pod) => {
    const phase = (pod.status as { phase?: string } | undefined)?.phase;
    return phase !== 'Succeeded' && phase !== 'Failed';
  }).length;
  return { free: allocatable - running, allocatable };
}

/** The route CRDs the cluster serves now, as discoverRouters sees them. */
async function installedRouters(client: KubeClient) {
  const crds = new ObjectCache();
  for (const type of ROUTE_CHILD_TYPES) {
    try {
      crds.upsert(await client.get(customResourceDefinitionType, crdName(type)));
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }
  return discoverRouters((name) => crds.get(name));
}

interface ChildToCreate {
  type: ResourceType;
  object: KubeObject;
}

/** The children the operator would write for `ms` (created, so with its uid) when nothing exists yet. */
function childrenOf(
  ms: MicroService,
  all: readonly MicroService[],
  routers: Awaited<ReturnType<typeof installedRouters>>,
): ChildToCreate[] {
  const name = ms.metadata.name ?? '';
  const planned = plan({
    ms,
    children: [],
    foreignRoutes: [],
    deletedByOthers: new Set(),
    rollout: undefined,
    dependents: all
      .filter((other) => (other.spec.dependsOn ?? []).includes(name))
      .map((other) => other.metadata.name ?? '')
      .sort(),
    installed: routers.installed,
    ...(routers.gatewayAPI ? { gatewayAPI: routers.gatewayAPI } : {}),
    now: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
  });
  return planned.apply.map(({ type, object }) => ({ type, object }));
}

interface BaselineFigures {
  createMs: number;
  readyMs: number;
  children: number;
  byKind: Record<string, number>;
}

/** The plain loop: the same children, created with the same client and parallelism, until their Deployments are available. */
async function plainLoop(
  options: MicroServiceBenchOptions,
  namespace: string,
  count: number,
  routers: Awaited<ReturnType<typeof installedRouters>>,
): Promise<BaselineFigures> {
  const { client } = options;
  await createNamespace(client, namespace);
  // The owners first, untimed, so that the children are byte for byte what the operator writes
  // (owner references included; a child whose owner is missing would be garbage-collected).
  const services: MicroService[] = [];
  await inParallel(
    Array.from({ length: count }, (_, i) => i),
    MS_CREATE_PARALLELISM,
    async (index) => {
      services[index] = await client.create<MicroService>(
        microServiceType,
        benchMicroService(index, count, namespace) as unknown as MicroService,
      );
    },
  );
  const work = services.map((ms) => ({ ms, children: childrenOf(ms, services, routers) }));
  const byKind: Record<string, number> = {};
  for (const { children } of work) {
    for (const child of children) byKind[child.object.kind ?? '?'] = (byKind[child.object.kind ?? '?'] ?? 0) + 1;
  }
  const desired = new Map(work.map(({ ms }) => [ms.metadata.name ?? '', buildDeployment(ms)]));
  const allAvailable = (cache: ObjectCache) =>
    cache.size === count &&
    [...desired].every(
      ([name, deployment]) =>
        computeDeploymentHealth(deployment, cache.get(`${namespace}/${name}`) as V1Deployment | undefined).state ===
        'available',
    );
  const watch = await watchUntil(client, deploymentType, namespace, allAvailable, 'every Deployment available');
  try {
    const started = performance.now();
    // Like the operator: `concurrency` services at a time, the children of one service in parallel.
    await inParallel(work, OPERATOR_CONCURRENCY, async ({ children }) => {
      await Promise.all(
        children.map(async ({ type, object }) => {
          try {
            // apiVersion and kind as the operator's apply sends them
            await client.create(type, { ...object, apiVersion: apiVersionOf(type), kind: type.kind });
          } catch (error) {
            // a retry of a service whose other children were created already
            if (!isConflict(error)) throw error;
          }
        }),
      );
    });
    const createMs = performance.now() - started;
    const readyMs = (await watch.reached) - started;
    return { createMs, readyMs, children: Object.values(byKind).reduce((a, b) => a + b, 0), byKind };
  } finally {
    await watch.stop();
  }
}

/** Stops the operator process we started: SIGTERM, SIGKILL after 10 s. */
export async function stopOperator(operator: OperatorProcess): Promise<void> {
  const { child } = operator;
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await operator.exited;
  clearTimeout(timer);
}

const countMessages = (operator: OperatorProcess, msg: string): number =>
  operator.lines.filter((line) => line.msg === msg).length;

async function operatorRequests(metricsUrl: string): Promise<Record<string, number>> {
  return requestsByVerb(await (await fetch(`${metricsUrl}/metrics`)).text());
}

interface OperatorFigures {
  createMs: number;
  readyMs: number;
  peakRssMiB: number;
  rssMiB: number;
  startRssMiB: number;
  /** The heap at the end, and the peak of each figure over 1 s samples of /metrics during the run. */
  heapEnd: HeapFigures;
  heapPeak: HeapFigures | undefined;
  cpuSeconds: number;
  atReady: ReturnType<typeof writeCounts>;
  settled: ReturnType<typeof writeCounts>;
  byVerb: Record<string, number>;
  appliedChildren: number;
  statusWrites: number;
}

/** The operator's half: the operator process running, the MicroServices created at once, until all are Ready. */
async function operatorRun(
  options: MicroServiceBenchOptions,
  namespace: string,
  count: number,
): Promise<OperatorFigures> {
  const { client, cluster } = options;
  await createNamespace(client, namespace);
  const operator = await startBundledOperator(cluster, namespace);
  const memory = async () => parseProcStatus(await readFile(`/proc/${operator.child.pid}/status`, 'utf8'));
  const metricsText = async () => (await fetch(`${operator.metricsUrl}/metrics`)).text();
  let heapPeak: HeapFigures | undefined;
  const sampler = setInterval(() => {
    metricsText().then(
      (text) => {
        heapPeak = peakOf(heapPeak, heapFigures(text));
      },
      () => {},
    );
  }, 1000);
  try {
    const startRssMiB = (await memory()).rssMiB;
    const cpu = async () => samplesOf(await metricsText(), 'flotilla_process_cpu_seconds_total')[0]?.value ?? 0;
    const cpuBefore = await cpu();
    const before = await operatorRequests(operator.metricsUrl);
    const watch = await watchUntil(
      client,
      microServiceType,
      namespace,
      (cache) => cache.size === count && cache.list().every(isReady),
      'every MicroService Ready',
    );
    let createMs = 0;
    let readyAt = 0;
    const started = performance.now();
    try {
      await inParallel(
        Array.from({ length: count }, (_, i) => i),
        MS_CREATE_PARALLELISM,
        async (index) => {
          await client.create(microServiceType, benchMicroService(index, count, namespace));
        },
      );
      createMs = performance.now() - started;
      readyAt = await watch.reached;
    } finally {
      await watch.stop();
    }
    const readyMs = readyAt - started;
    const atReady = writeCounts(await operatorRequests(operator.metricsUrl), before);
    // Then until the operator has stopped writing (late Deployment and HPA status changes).
    let last = atReady.all;
    let still = performance.now();
    const settleDeadline = performance.now() + 60_000;
    let byVerb = await operatorRequests(operator.metricsUrl);
    while (performance.now() - still < SETTLE_MS && performance.now() < settleDeadline) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      byVerb = await operatorRequests(operator.metricsUrl);
      const now = writeCounts(byVerb, before).all;
      if (now !== last) {
        last = now;
        still = performance.now();
      }
    }
    const settled = writeCounts(byVerb, before);
    const cpuSeconds = (await cpu()) - cpuBefore;
    const heapEnd = heapFigures(await metricsText());
    const { peakRssMiB, rssMiB } = await memory();
    const delta: Record<string, number> = {};
    for (const [verb, n] of Object.entries(byVerb)) delta[verb] = n - (before[verb] ?? 0);
    return {
      createMs,
      readyMs,
      peakRssMiB,
      rssMiB,
      startRssMiB,
      heapEnd,
      heapPeak,
      cpuSeconds,
      atReady,
      settled,
      byVerb: delta,
      appliedChildren: countMessages(operator, 'applied child'),
      statusWrites: countMessages(operator, 'status updated'),
    };
  } finally {
    clearInterval(sampler);
    await stopOperator(operator);
  }
}

/** The MicroService scenario; deletes its namespaces at the end, also on failure. */
export async function microServiceBench(options: MicroServiceBenchOptions): Promise<void> {
  const { client, print, scale } = options;
  const count = Math.max(1, Math.round(SERVICES * scale));
  const id = Date.now().toString(36);
  const rawNamespace = `flotilla-bench-raw-${id}`;
  const msNamespace = `flotilla-bench-ms-${id}`;
  const deleted = new Set<string>();
  try {
    const routers = await installedRouters(client);
    const routes = routers.installed.istio
      ? 'Istio CRDs served: VirtualService + DestinationRule per service'
      : routers.installed.gatewayAPI
        ? 'Gateway API CRDs served: HTTPRoute per service'
        : 'no route CRDs served (neither Istio nor the Gateway API): no routes, RoutesReady=False NoRouter';
    print(`4. MicroServices: ${count} created at once (${MS_CREATE_PARALLELISM} parallel requests), until all Ready`);
    print('   each like samples/21-orders.yaml without a database: 1–2 ports, 3 env vars, resources, probes,');
    print('   traffic policy, dependsOn ≤ 2, autoscaling for every 3rd, expose for every 10th; 1 pod each');
    print(`   ${routes} (the bench does not install CRDs on the shared cluster)`);
    const slots = await freePodSlots(client);
    print(`   pod slots free on the simulated nodes: ${slots.free} of ${slots.allocatable}`);
    if (slots.free < count) {
      print(`   NOTE: fewer than ${count} pod slots free: some pods will wait for others' to go`);
    }

    print(
      `  a. plain loop: the same children created by ${OPERATOR_CONCURRENCY} workers (the operator's --concurrency),`,
    );
    print(
      '     the children of one service in parallel, through createKubeClient; until the Deployments are available',
    );
    const raw = await plainLoop(options, rawNamespace, count, routers);
    const kinds = Object.entries(raw.byKind)
      .map(([kind, n]) => `${n} ${kind}`)
      .join(', ');
    print(`     ${raw.children} children (${kinds}), ${perService(raw.children / count)} per service`);
    print(`     all created in ${seconds(raw.createMs)}; all Deployments available after ${seconds(raw.readyMs)}`);
    await deleteNamespace(options, rawNamespace);
    deleted.add(rawNamespace);

    print(
      `  b. operator: ${OPERATOR_COMMAND} run --namespace <ns> --no-leader-elect ` +
        `(concurrency ${OPERATOR_CONCURRENCY}; node's flags: the image's ENTRYPOINT's)`,
    );
    const op = await operatorRun(options, msNamespace, count);
    print(`     all MicroServices created in ${seconds(op.createMs)}; all Ready after ${seconds(op.readyMs)}`);
    print(`     time to all Ready vs the plain loop: ${verdict(op.readyMs / raw.readyMs, GOAL_RATIO, times)}`);
    const childrenPer = raw.children / count;
    const goalWrites = childrenPer + GOAL_EXTRA_WRITES;
    const verbs = Object.entries(op.byVerb)
      .filter(([, n]) => n > 0)
      .map(([verb, n]) => `${verb} ${formatNumber(n)}`)
      .join(', ');
    print(`     requests by verb (flotilla_api_requests_total, after settling): ${verbs}`);
    print(
      `     of the writes: ${op.appliedChildren} child applies, ${op.statusWrites} status applies (its logs), ` +
        `${op.settled.events} Event writes (CREATE/PATCH)`,
    );
    print(
      `     writes per MicroService (POST/PUT/PATCH/DELETE, children + status subresource + Events; ` +
        `goal: ${perService(childrenPer)} children + ${GOAL_EXTRA_WRITES}):`,
    );
    print(
      `       at all Ready        ${perService(op.atReady.all / count)} (${perService(op.atReady.withoutEvents / count)} without Events)`,
    );
    print(`       with Events         ${verdict(op.settled.all / count, goalWrites, perService)}`);
    print(`       without Events      ${verdict(op.settled.withoutEvents / count, goalWrites, perService)}`);
    print(
      `     operator CPU: ${seconds(op.cpuSeconds * 1000)} over the ${seconds(op.readyMs)} to all Ready and the settling`,
    );
    print(
      `     operator RSS: ${mib(op.startRssMiB)} once started, ${mib(op.rssMiB)} at the end; ` +
        `V8 heap at the end ${mib(op.heapEnd.total)} (${mib(op.heapEnd.used)} used, new space ${mib(op.heapEnd.spaces.new ?? 0)})`,
    );
    if (op.heapPeak) {
      const spaces = ['new', 'old', 'large_object']
        .map((space) => `${space} ${mib(op.heapPeak?.spaces[space] ?? 0)}`)
        .join(', ');
      print(
        `     V8 heap at its largest (1 s samples): ${mib(op.heapPeak.total)} (${spaces}; ` +
          `${mib(op.heapPeak.used)} used), external ${mib(op.heapPeak.external)}`,
      );
    }
    print(`     operator peak RSS (VmHWM): ${verdict(op.peakRssMiB, GOAL_RSS_MIB, mib)}`);
    const after = await installedRouters(client);
    if (JSON.stringify(after.installed) !== JSON.stringify(routers.installed)) {
      print('     NOTE: the route CRDs served changed during the run (someone installed or removed them)');
    }
  } finally {
    for (const namespace of [rawNamespace, msNamespace].filter((ns) => !deleted.has(ns))) {
      await deleteNamespace(options, namespace).catch((error: unknown) =>
        console.error(`bench: cleaning up ${namespace}: ${error}`),
      );
    }
  }
}
