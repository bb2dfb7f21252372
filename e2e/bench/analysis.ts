// The analysis scenario of `npm run bench` (the operator as a separate process, Istio's CRDs
// installed, the real Prometheus of `npm run prometheus` scraping a metrics fixture every second):
// 50 canaries, each with a background analysis every 5 s.
//   1. lateness of a measurement against its schedule (the previous one's start + interval),
//      p50/p99 (goal p99 ≤ 250 ms)
//   2. the operator's CPU seconds per 1,000 measurements, beside the same window's idle CPU before
//      the analyses start
//   3. from the first failing measurement to 100 % of traffic on stable in the VirtualService,
//      p50/p99 (goal p99 ≤ 1 s)
//   4. the operator's RSS with 500 finished runs retained, against the 50-canary baseline (goal: at
//      most 10 MiB more)

import { analysisRunType, analysisTemplateType } from '../../operator/src/analysis/resources.ts';
import { API_VERSION } from '../../operator/src/api/common.ts';
import { microServiceType, rolloutType } from '../../operator/src/api/resource-types.ts';
import type { KubeClient } from '../../operator/src/kube/client.ts';
import { deploymentType, type KubeObject } from '../../operator/src/kube/objects.ts';
import { ObjectCache } from '../../operator/src/runtime/object-cache.ts';
import { Reflector } from '../../operator/src/runtime/reflector.ts';
import { virtualServiceType } from '../../operator/src/traffic/index.ts';
import {
  ISTIO_CRD_NAMES,
  istioCrds,
  type OperatorProcess,
  waitEstablished,
} from '../integration/microservice-support.ts';
import { startMetricsFixture, type Traffic } from '../prometheus/fixture.ts';
import { addScrapeTargets, PROMETHEUS_URL, prometheusUp } from '../prometheus/server.ts';
import type { TestCluster } from '../support/cluster.ts';
import { samplesOf } from './metrics-text.ts';
import { OPERATOR_COMMAND, startBundledOperator } from './operator-build.ts';
import { processFigures } from './process-stats.ts';
import { formatNumber, percentile, verdict } from './stats.ts';

export interface AnalysisBenchOptions {
  cluster: TestCluster;
  client: KubeClient;
  scale: number;
  print: (line?: string) => void;
}

const INTERVAL_MS = 5_000;
const GOAL_LATENESS_P99_MS = 250;
const GOAL_ABORT_P99_MS = 1_000;
const GOAL_RSS_GROWTH_MIB = 10;
const HEALTHY: Traffic = { rps: 20, errorRatio: 0.001, latencyMs: 20 };
const FAILING: Traffic = { rps: 20, errorRatio: 0.5, latencyMs: 20 };
const IMAGE = 'registry.example.com/bench/analysis';

type Run = KubeObject & {
  status?: {
    phase?: string;
    metricResults?: { measurements: { startedAt: string; finishedAt?: string; phase: string }[] }[];
  };
};
type VirtualService = KubeObject & {
  spec?: { http?: { route?: { destination?: { subset?: string }; weight?: number }[] }[] };
};

const millis = (ms: number) => `${ms.toFixed(0)} ms`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const cpuSeconds = async (pid: number) => (await processFigures(pid)).cpuSeconds;
const rssMiB = async (pid: number) => (await processFigures(pid)).rssMiB;

async function measurementsSoFar(operator: OperatorProcess): Promise<number> {
  const text = await (await fetch(`${operator.metricsUrl}/metrics`)).text();
  return samplesOf(text, 'flotilla_analysis_measurements_total').reduce((sum, sample) => sum + sample.value, 0);
}

/** Waits until `test` holds, checking every half second, up to `ms`. */
async function until(what: string, test: () => boolean | Promise<boolean>, ms = 300_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await test())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms / 1000} s`);
    await sleep(500);
  }
}

export async function analysisBench(options: AnalysisBenchOptions): Promise<void> {
  const { client, cluster, print } = options;
  const canaries = Math.max(2, Math.round(50 * options.scale));
  const namespace = `flotilla-bench-analysis-${Date.now().toString(36)}`;
  print();
  print(`## Analysis: ${canaries} canaries with a background analysis every ${INTERVAL_MS / 1000} s (real Prometheus)`);
  print(`  operator: ${OPERATOR_COMMAND}`);
  await prometheusUp();
  const fixture = await startMetricsFixture();
  const removeTargets = addScrapeTargets(namespace, [fixture.target]);
  const { crds } = istioCrds();
  await cluster.kubectl(['apply', '--server-side', '--force-conflicts', '-f', '-'], {
    input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: crds }),
  });
  await waitEstablished(cluster, ISTIO_CRD_NAMES);
  await cluster.kubectl(['create', 'namespace', namespace]);
  const deployments = new ObjectCache();
  const routes = new ObjectCache();
  const rollouts = new ObjectCache();
  const runs = new ObjectCache();
  /** When each VirtualService first had no weight on its canary after the failure began. */
  const allStable = new Map<string, number>();
  let failing = false;
  routes.subscribe((event) => {
    const vs = event.object as VirtualService;
    const canary = vs.spec?.http?.[0]?.route?.find((r) => r.destination?.subset === 'canary')?.weight ?? 0;
    if (failing && canary === 0 && !allStable.has(vs.metadata.name ?? ''))
      allStable.set(vs.metadata.name ?? '', Date.now());
  });
  const reflectors = [
    new Reflector({ client, type: deploymentType, cache: deployments, namespace }),
    new Reflector({ client, type: virtualServiceType, cache: routes, namespace }),
    new Reflector({ client, type: rolloutType, cache: rollouts, namespace }),
    new Reflector({ client, type: analysisRunType, cache: runs, namespace }),
  ];
  for (const reflector of reflectors) reflector.start();
  await Promise.all(reflectors.map((reflector) => reflector.waitForSync()));
  // The fixture counts requests for every revision's Deployment: the stable ones healthy, the canaries as told.
  const feeding = setInterval(() => {
    const canaryRevisions = new Set(
      rollouts.list().map((rollout) => (rollout.status as { canaryRevision?: string } | undefined)?.canaryRevision),
    );
    for (const deployment of deployments.list()) {
      const canary = canaryRevisions.has(deployment.metadata.labels?.['flotilla.dev/revision']);
      fixture.set(deployment.metadata.name ?? '', failing && canary ? FAILING : HEALTHY);
    }
  }, 500);
  let operator: OperatorProcess | undefined;
  try {
    operator = await startBundledOperator(cluster, namespace);
    const pid = operator.child.pid as number;
    await client.create(analysisTemplateType, {
      apiVersion: API_VERSION,
      kind: 'AnalysisTemplate',
      metadata: { name: 'success-rate', namespace },
      spec: {
        metrics: [
          {
            name: 'success-rate',
            interval: `${INTERVAL_MS / 1000}s`,
            initialDelay: '5s',
            successCondition: 'result >= 0.95',
            provider: {
              prometheus: {
                address: PROMETHEUS_URL,
                query:
                  'sum(rate(app_requests_total{workload="{{workload.canary}}",code="200"}[4s])) / ' +
                  'sum(rate(app_requests_total{workload="{{workload.canary}}"}[4s]))',
              },
            },
          },
        ],
      },
    });
    const names = Array.from({ length: canaries }, (_, i) => `svc-${i}`);
    await Promise.all(
      names.map(async (name) => {
        await client.create(microServiceType, {
          apiVersion: API_VERSION,
          kind: 'MicroService',
          metadata: { name, namespace },
          spec: { image: `${IMAGE}:0`, replicas: 2, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
        });
        await client.create(rolloutType, {
          apiVersion: API_VERSION,
          kind: 'Rollout',
          metadata: { name, namespace },
          spec: {
            serviceRef: { name },
            strategy: {
              canary: {
                steps: [{ setWeight: 50 }, { pause: {} }],
                analysis: { templates: [{ templateName: 'success-rate' }] },
                trafficRouting: 'istio',
                scaleDownDelaySeconds: 0,
              },
            },
          },
        });
      }),
    );
    const phases = (phase: string) => rollouts.list().filter((r) => (r.status as { phase?: string })?.phase === phase);
    await until('all Healthy', () => phases('Healthy').length === canaries);
    // The idle baseline: the same window's CPU with nothing to measure.
    const idleStart = await cpuSeconds(pid);
    await sleep(30_000);
    const idleCpu = (await cpuSeconds(pid)) - idleStart;
    await Promise.all(
      names.map((name) => client.mergePatch(microServiceType, name, namespace, { spec: { image: `${IMAGE}:1` } })),
    );
    await until('all Paused with their analysis running', () => phases('Paused').length === canaries);
    await sleep(10_000);
    const baselineRss = await rssMiB(pid);
    const cpuStart = await cpuSeconds(pid);
    const measuredStart = await measurementsSoFar(operator);
    await sleep(30_000);
    const cpu = (await cpuSeconds(pid)) - cpuStart;
    const measured = (await measurementsSoFar(operator)) - measuredStart;
    // 1. Lateness: each measurement against the previous one's start plus the interval.
    const lateness: number[] = [];
    for (const run of runs.list() as Run[]) {
      const starts = (run.status?.metricResults?.[0]?.measurements ?? []).map((m) => Date.parse(m.startedAt));
      for (let i = 1; i < starts.length; i++)
        lateness.push((starts[i] as number) - (starts[i - 1] as number) - INTERVAL_MS);
    }
    // 3. From the first failing measurement to all traffic on stable.
    failing = true;
    await until('all aborted', () => phases('Degraded').length === canaries);
    await until('every route on stable', () => allStable.size === canaries, 30_000);
    const abortLatency: number[] = [];
    for (const run of runs.list() as Run[]) {
      const failed = run.status?.metricResults?.[0]?.measurements.find((m) => m.phase === 'Failed');
      const service = run.metadata.labels?.['flotilla.dev/rollout'] ?? '';
      const stableAt = allStable.get(service);
      if (failed?.finishedAt && stableAt !== undefined) abortLatency.push(stableAt - Date.parse(failed.finishedAt));
    }
    // 4. 500 finished runs retained: runs of nothing to release, measured 10 times each, then kept.
    const extra = Math.max(0, Math.round(500 * options.scale) - runs.list().length);
    // Made 50 at a time, 2 s apart, and measured after they settle: the retention, not the burst.
    for (let i = 0; i < extra; i += 50) {
      if (i > 0) await sleep(2_000);
      await Promise.all(
        Array.from({ length: Math.min(50, extra - i) }, (_, j) =>
          client.create(analysisRunType, {
            apiVersion: API_VERSION,
            kind: 'AnalysisRun',
            metadata: { name: `retained-${i + j}`, namespace, labels: { 'app.kubernetes.io/managed-by': 'flotilla' } },
            spec: {
              gate: 'Background',
              revision: 'bench',
              attempt: 0,
              templates: [],
              metrics: [
                {
                  name: 'up',
                  interval: '1s',
                  count: 10,
                  successCondition: 'result >= 0',
                  provider: { prometheus: { address: PROMETHEUS_URL, query: 'vector(1)' } },
                },
              ],
            },
          }),
        ),
      );
    }
    const finished = () =>
      runs.list().filter((r) => ['Successful', 'Failed', 'Error'].includes((r as Run).status?.phase ?? ''));
    await until('500 runs finished', () => finished().length >= Math.round(500 * options.scale) * 0.99);
    await sleep(20_000);
    const retainedRss = await rssMiB(pid);

    const lateP99 = percentile(lateness, 99);
    const abortP99 = percentile(abortLatency, 99);
    print(`| measure | figure | baseline | goal |`);
    print(`| --- | --- | --- | --- |`);
    print(
      `| measurement lateness against its schedule, ${lateness.length} measurements | p50 ${millis(percentile(lateness, 50))}, p99 ${millis(lateP99)} | — | ${verdict(lateP99, GOAL_LATENESS_P99_MS, millis)} |`,
    );
    print(
      `| operator CPU per 1,000 measurements (${measured} in 30 s) | ${formatNumber((cpu / Math.max(1, measured)) * 1000, 1)} s | ${formatNumber(idleCpu, 1)} s in the same 30 s idle | — |`,
    );
    print(
      `| first failing measurement → 100 % on stable, ${abortLatency.length} canaries | p50 ${millis(percentile(abortLatency, 50))}, p99 ${millis(abortP99)} | — | ${verdict(abortP99, GOAL_ABORT_P99_MS, millis)} |`,
    );
    print(
      `| operator RSS with ${finished().length} finished runs retained | ${formatNumber(retainedRss)} MiB | ${formatNumber(baselineRss)} MiB with ${canaries} canaries measuring | ${verdict(retainedRss - baselineRss, GOAL_RSS_GROWTH_MIB, (n) => `${formatNumber(n, 1)} MiB more`)} |`,
    );
  } finally {
    clearInterval(feeding);
    operator?.child.kill('SIGTERM');
    await operator?.exited;
    await Promise.all(reflectors.map((reflector) => reflector.stop()));
    removeTargets();
    await fixture.close();
    await cluster.kubectl(['delete', 'namespace', namespace, '--ignore-not-found', '--wait=false']);
  }
}
