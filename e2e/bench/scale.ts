// The scale scenario of `npm run bench -- scale`: how the operator's cost grows with the fleet.
// For N at a quarter, a half and all of 2,000 MicroServices (FLOTILLA_BENCH_SCALE multiplies it),
// the services and their children are made first, by an operator that is then stopped; then a fresh operator (the bundle, the image's node flags) is started against them and
// measured: time until every service was reconciled, peak and settled RSS, CPU, API requests by
// verb. The slope of settled RSS against N is the memory each service costs (goal ≤ 100 KiB).
// The services are the microservices scenario's without ports (so without a Service or routes) and
// with 0 replicas: the local cluster's service range (10.0.0.0/24) has room for ~250 ClusterIPs in
// all, and its simulated nodes for 220 pods. Each has a Deployment and a NetworkPolicy.

import { microServiceType } from '../../operator/src/controllers/microservice/index.ts';
import type { KubeClient } from '../../operator/src/kube/client.ts';
import type { OperatorProcess } from '../integration/microservice-support.ts';
import type { TestCluster } from '../support/cluster.ts';
import { requestsByVerb, samplesOf } from './metrics-text.ts';
import { benchMicroService, createNamespace, inParallel, isReady, stopOperator, watchUntil } from './microservices.ts';
import { OPERATOR_COMMAND, startBundledOperator } from './operator-build.ts';
import { processFigures } from './process-stats.ts';
import { formatNumber, verdict } from './stats.ts';

const SERVICES = 2_000;
const CREATE_PARALLELISM = 32;
/** Settled: the RSS once the operator has had nothing to do for this long after its start-up work. */
const SETTLE_MS = 30_000;
const GOAL_KIB_PER_SERVICE = 100;

export interface ScaleBenchOptions {
  cluster: TestCluster;
  client: KubeClient;
  scale: number;
  print: (line?: string) => void;
}

export interface ScalePoint {
  services: number;
  readyMs: number;
  cpuSeconds: number;
  peakRssMiB: number;
  settledRssMiB: number;
  heapUsedMiB: number;
  byVerb: Record<string, number>;
}

/** Least-squares slope and intercept of y against x. */
export function linearFit(points: readonly { x: number; y: number }[]): { slope: number; intercept: number } {
  const n = points.length;
  const mx = points.reduce((sum, p) => sum + p.x, 0) / n;
  const my = points.reduce((sum, p) => sum + p.y, 0) / n;
  const sxx = points.reduce((sum, p) => sum + (p.x - mx) ** 2, 0);
  const sxy = points.reduce((sum, p) => sum + (p.x - mx) * (p.y - my), 0);
  const slope = sxx === 0 ? 0 : sxy / sxx;
  return { slope, intercept: my - slope * mx };
}

/** Service `index` as the scale scenario has it: the microservices scenario's with no port and no pod. */
function scaleMicroService(index: number, count: number, namespace: string) {
  const ms = benchMicroService(index, count, namespace);
  const { autoscaling: _a, ports: _p, expose: _e, probes: _r, ...spec } = ms.spec as Record<string, unknown>;
  return { ...ms, spec: { ...spec, replicas: 0 } };
}

const metricsOf = async (operator: OperatorProcess) => (await fetch(`${operator.metricsUrl}/metrics`)).text();
const sum = (text: string, name: string, labels: Record<string, string> = {}) =>
  samplesOf(text, name)
    .filter((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((total, s) => total + s.value, 0);

/** A fresh operator against `count` services that exist with their children: until each was reconciled, then settled. */
async function measure(options: ScaleBenchOptions, namespace: string, count: number): Promise<ScalePoint> {
  const started = performance.now();
  const operator = await startBundledOperator(options.cluster, namespace);
  try {
    let text = '';
    for (;;) {
      text = await metricsOf(operator);
      const reconciled = sum(text, 'flotilla_reconcile_total', { kind: 'MicroService' });
      const queued = sum(text, 'flotilla_workqueue_depth', { kind: 'MicroService' });
      if (reconciled >= count && queued === 0) break;
      if (performance.now() - started > 900_000) throw new Error(`${count} services not reconciled within 15 min`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const readyMs = performance.now() - started;
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    text = await metricsOf(operator);
    const figures = await processFigures(operator.child.pid as number);
    return {
      services: count,
      readyMs,
      cpuSeconds: figures.cpuSeconds,
      peakRssMiB: figures.peakRssMiB,
      settledRssMiB: figures.rssMiB,
      heapUsedMiB: sum(text, 'flotilla_nodejs_heap_size_used_bytes') / 1024 / 1024,
      byVerb: requestsByVerb(text),
    };
  } finally {
    await stopOperator(operator);
  }
}

/** Grows `namespace` to `count` services and has an operator make their children, until all are Ready. */
async function grow(options: ScaleBenchOptions, namespace: string, from: number, count: number): Promise<number> {
  const { client, cluster } = options;
  const started = performance.now();
  const operator = await startBundledOperator(cluster, namespace);
  try {
    const watch = await watchUntil(
      client,
      microServiceType,
      namespace,
      (cache) => cache.size === count && cache.list().every(isReady),
      `${count} MicroServices Ready`,
    );
    try {
      await inParallel(
        Array.from({ length: count - from }, (_, i) => from + i),
        CREATE_PARALLELISM,
        async (index) => {
          await client.create(microServiceType, scaleMicroService(index, count, namespace));
        },
      );
      await watch.reached;
    } finally {
      await watch.stop();
    }
  } finally {
    await stopOperator(operator);
  }
  return performance.now() - started;
}

export async function scaleBench(options: ScaleBenchOptions): Promise<ScalePoint[]> {
  const { cluster, print } = options;
  const total = Math.max(12, Math.round(SERVICES * options.scale));
  const sizes = [Math.round(total / 4), Math.round(total / 2), total];
  const namespace = `flotilla-bench-scale-${Date.now().toString(36)}`;
  print(`scale: ${sizes.map((n) => formatNumber(n)).join(', ')} MicroServices without ports and with 0 replicas`);
  print('  (the local cluster has ~250 ClusterIPs and 220 pod slots in all): a Deployment and a NetworkPolicy each');
  print(`  operator: ${OPERATOR_COMMAND} run --namespace <ns> --no-leader-elect`);
  print('  each N: the services and their children made first (another operator, stopped), then a fresh operator');
  print(
    `  measured from its start until every service was reconciled once; settled = its RSS ${SETTLE_MS / 1000} s later`,
  );
  const points: ScalePoint[] = [];
  await createNamespace(options.client, namespace);
  try {
    let existing = 0;
    for (const size of sizes) {
      const growMs = await grow(options, namespace, existing, size);
      existing = size;
      const point = await measure(options, namespace, size);
      points.push(point);
      const verbs = Object.entries(point.byVerb)
        .map(([verb, n]) => `${verb} ${formatNumber(n)}`)
        .join(', ');
      print(
        `  N=${formatNumber(size).padStart(6)}: reconciled in ${(point.readyMs / 1000).toFixed(1)} s, ` +
          `${point.cpuSeconds.toFixed(1)} CPU s; RSS peak ${point.peakRssMiB.toFixed(0)} MiB, settled ` +
          `${point.settledRssMiB.toFixed(0)} MiB (heap used ${point.heapUsedMiB.toFixed(0)} MiB); requests: ${verbs}` +
          `  (made in ${(growMs / 1000).toFixed(0)} s)`,
      );
    }
    const fit = linearFit(points.map((p) => ({ x: p.services, y: p.settledRssMiB * 1024 })));
    const heapFit = linearFit(points.map((p) => ({ x: p.services, y: p.heapUsedMiB * 1024 })));
    const kib = (n: number) => `${n.toFixed(0)} KiB`;
    print(
      `  settled RSS per service (slope over the ${points.length} N): ${verdict(fit.slope, GOAL_KIB_PER_SERVICE, kib)}`,
    );
    print(
      `  heap used per service: ${kib(heapFit.slope)}; RSS at N=0 (intercept): ${(fit.intercept / 1024).toFixed(0)} MiB; ` +
        `10,000 services at that slope: ${((fit.intercept + fit.slope * 10_000) / 1024).toFixed(0)} MiB`,
    );
    return points;
  } finally {
    const deleting = performance.now();
    await cluster.kubectl(['delete', 'namespace', namespace, '--ignore-not-found', '--timeout=600s']).catch(() => {});
    print(`  namespace ${namespace} deleted in ${((performance.now() - deleting) / 1000).toFixed(0)} s`);
  }
}
