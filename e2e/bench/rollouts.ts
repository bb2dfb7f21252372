// The rollouts scenario of `npm run bench` (the operator as a separate process, Istio's CRDs installed):
//   1. promotion latency: from the promote patch to the new weights being in the VirtualService,
//      p50 and p99 over 100 promotions (goal p99 ≤ 200 ms)
//   2. 50 canaries progressing at once: the time each step takes beyond its configured pause,
//      p50 and p99 (goal p99 ≤ 1 s); setWeight steps (which wait for the canary's pods) apart
//   In both, "weight on unready pods": at every VirtualService change, the weight on a canary with
//   no Ready pod (goal: 0)
import type { KubeClient } from '../../operator/src/kube/client.ts';
import { deploymentType, type KubeObject, type ResourceType } from '../../operator/src/kube/objects.ts';
import { ObjectCache } from '../../operator/src/runtime/object-cache.ts';
import { Reflector } from '../../operator/src/runtime/reflector.ts';
import {
  ISTIO_CRD_NAMES,
  istioCrds,
  type OperatorProcess,
  waitEstablished,
} from '../integration/microservice-support.ts';
import type { TestCluster } from '../support/cluster.ts';
import { OPERATOR_COMMAND, startBundledOperator } from './operator-build.ts';
import { type ProcessFigures, processFigures } from './process-stats.ts';
import { formatNumber, percentile, verdict } from './stats.ts';
import { UnreadyWeightProbe } from './unready-weight.ts';

export interface RolloutBenchOptions {
  cluster: TestCluster;
  client: KubeClient;
  /** FLOTILLA_BENCH_SCALE: 0.1 runs a tenth of the work. */
  scale: number;
  print: (line?: string) => void;
}

const GROUP = 'flotilla.dev';
export const rolloutType: ResourceType = {
  group: GROUP,
  version: 'v1alpha1',
  kind: 'Rollout',
  plural: 'rollouts',
  namespaced: true,
};
const microServiceType: ResourceType = {
  group: GROUP,
  version: 'v1alpha1',
  kind: 'MicroService',
  plural: 'microservices',
  namespaced: true,
};
const virtualServiceType: ResourceType = {
  group: 'networking.istio.io',
  version: 'v1',
  kind: 'VirtualService',
  plural: 'virtualservices',
  namespaced: true,
};
const namespaceType: ResourceType = {
  group: '',
  version: 'v1',
  kind: 'Namespace',
  plural: 'namespaces',
  namespaced: false,
};

const GOAL_PROMOTE_P99_MS = 200;
const GOAL_STEP_OVERHEAD_P99_MS = 1_000;
const GOAL_UNREADY_WEIGHT = 0;
const WAIT_MS = Number(process.env.FLOTILLA_BENCH_WAIT_MS ?? 180_000);
/** Pairs of (setWeight, pause) per release: the API allows 32 steps. */
const PAIRS = 16;
const STEP_PAUSE_SECONDS = 5;
const IMAGE = 'registry.example.com/bench/svc';

const millis = (ms: number) => `${ms.toFixed(0)} ms`;

type Rollout = KubeObject & { status?: { phase?: string; currentStepIndex?: number; stableRevision?: string } };
type VirtualService = KubeObject & {
  spec?: { http?: { route?: { destination?: { subset?: string }; weight?: number }[] }[] };
};

/** A watch into a cache, and a way to wait for a condition on it (checked on every event). */
export class Watched {
  readonly cache = new ObjectCache();
  private readonly reflector: Reflector;
  private waiters: { test: () => boolean; resolve: (at: number) => void }[] = [];

  constructor(client: KubeClient, type: ResourceType, namespace: string, onEvent?: (object: KubeObject) => void) {
    this.reflector = new Reflector({ client, type, cache: this.cache, namespace });
    this.cache.subscribe((event) => {
      const at = performance.now();
      onEvent?.(event.object);
      this.waiters = this.waiters.filter((w) => {
        if (!w.test()) return true;
        w.resolve(at);
        return false;
      });
    });
  }

  async start(): Promise<void> {
    this.reflector.start();
    await this.reflector.waitForSync();
  }

  /** Resolves with the time of the event after which `test` holds (now, if it holds already). */
  until(what: string, test: () => boolean): Promise<number> {
    if (test()) return Promise.resolve(performance.now());
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${what}: not within ${WAIT_MS / 1000} s`)), WAIT_MS);
      this.waiters.push({
        test,
        resolve: (at) => {
          clearTimeout(timer);
          resolve(at);
        },
      });
    });
  }

  stop(): Promise<void> {
    return this.reflector.stop();
  }
}

function microService(namespace: string, name: string, tag: string): KubeObject {
  return {
    apiVersion: `${GROUP}/v1alpha1`,
    kind: 'MicroService',
    metadata: { name, namespace },
    spec: { image: `${IMAGE}:${tag}`, replicas: 1, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
  };
}

function rollout(namespace: string, name: string, steps: object[]): KubeObject {
  return {
    apiVersion: `${GROUP}/v1alpha1`,
    kind: 'Rollout',
    metadata: { name, namespace },
    spec: { serviceRef: { name }, strategy: { canary: { steps, trafficRouting: 'istio', scaleDownDelaySeconds: 0 } } },
  };
}

const canaryWeight = (vs: VirtualService | undefined): number | undefined =>
  vs?.spec?.http?.[0]?.route?.find((r) => r.destination?.subset === 'canary')?.weight;

/** Runs `run` with the operator (the bundle, the image's node flags); also its CPU and memory at the end. */
async function withOperator<T>(
  options: RolloutBenchOptions,
  namespace: string,
  run: () => Promise<T>,
): Promise<T & { operator: ProcessFigures }> {
  const { client, cluster } = options;
  await client.create(namespaceType, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
  let operator: OperatorProcess | undefined;
  try {
    operator = await startBundledOperator(cluster, namespace);
    const result = await run();
    return { ...result, operator: await processFigures(operator.child.pid as number) };
  } finally {
    operator?.child.kill('SIGTERM');
    await operator?.exited;
    await cluster.kubectl(['delete', 'namespace', namespace, '--ignore-not-found', '--wait=false']);
  }
}

/** 1. From each promote patch to the VirtualService carrying the next weight. */
async function promotionLatency(
  options: RolloutBenchOptions,
): Promise<{ latencies: number[]; probe: UnreadyWeightProbe }> {
  const { client } = options;
  const namespace = `flotilla-bench-promote-${Date.now().toString(36)}`;
  const promotions = Math.max(4, Math.round(100 * options.scale));
  const steps = Array.from({ length: PAIRS }, (_, i) => [{ setWeight: (i + 1) * 3 }, { pause: {} }]).flat();
  return withOperator(options, namespace, async () => {
    const probe = new UnreadyWeightProbe();
    const record = (object: KubeObject) => probe.record(object);
    const rollouts = new Watched(client, rolloutType, namespace, record);
    const routes = new Watched(client, virtualServiceType, namespace, record);
    const deployments = new Watched(client, deploymentType, namespace, record);
    await Promise.all([rollouts.start(), routes.start(), deployments.start()]);
    const latencies: number[] = [];
    const name = 'promoted';
    const current = () => rollouts.cache.get(`${namespace}/${name}`) as Rollout | undefined;
    const route = () => routes.cache.get(`${namespace}/${name}`) as VirtualService | undefined;
    try {
      await client.create(microServiceType, microService(namespace, name, '0'));
      await client.create(rolloutType, rollout(namespace, name, steps));
      await rollouts.until('first release Healthy', () => current()?.status?.phase === 'Healthy');
      for (let release = 1; latencies.length < promotions; release++) {
        await client.mergePatch(microServiceType, name, namespace, { spec: { image: `${IMAGE}:${release}` } });
        for (let pair = 0; pair < PAIRS - 1 && latencies.length < promotions; pair++) {
          const pauseIndex = pair * 2 + 1;
          await rollouts.until(
            `paused at step ${pauseIndex} (${JSON.stringify({ spec: current()?.spec, status: current()?.status })})`,
            () => current()?.status?.phase === 'Paused' && current()?.status?.currentStepIndex === pauseIndex,
          );
          const next = (pair + 2) * 3;
          const sent = performance.now();
          await client.mergePatch(rolloutType, name, namespace, { spec: { promote: 'step' } });
          const seen = await routes.until(`weight ${next}`, () => canaryWeight(route()) === next);
          latencies.push(seen - sent);
        }
        await rollouts.until('paused', () => current()?.status?.phase === 'Paused');
        await client.mergePatch(rolloutType, name, namespace, { spec: { promote: 'full' } });
        await rollouts.until(`release ${release} Healthy`, () => current()?.status?.phase === 'Healthy');
      }
      return { latencies, probe };
    } finally {
      await Promise.all([rollouts.stop(), routes.stop(), deployments.stop()]);
    }
  });
}

interface StepFigures {
  pauseOverheads: number[];
  setWeightTimes: number[];
  totalMs: number;
  probe: UnreadyWeightProbe;
}

/** 2. Canaries released at once; each step's time from the watch of the Rollouts, less its pause. */
async function concurrentCanaries(options: RolloutBenchOptions): Promise<StepFigures & { operator: ProcessFigures }> {
  const { client } = options;
  const namespace = `flotilla-bench-canaries-${Date.now().toString(36)}`;
  const count = Math.max(2, Math.round(50 * options.scale));
  const steps = [
    { setWeight: 20 },
    { pause: { duration: `${STEP_PAUSE_SECONDS}s` } },
    { setWeight: 60 },
    { pause: { duration: `${STEP_PAUSE_SECONDS}s` } },
  ];
  const names = Array.from({ length: count }, (_, i) => `canary-${String(i).padStart(2, '0')}`);
  /** When each Rollout was first seen at each step index (steps.length: released). */
  const reachedAt = new Map<string, Map<number, number>>();
  let releasing = false;
  const probe = new UnreadyWeightProbe();
  const record = (object: KubeObject) => probe.record(object);
  return withOperator(options, namespace, async () => {
    const routes = new Watched(client, virtualServiceType, namespace, record);
    const deployments = new Watched(client, deploymentType, namespace, record);
    const rollouts = new Watched(client, rolloutType, namespace, (object) => {
      record(object);
      const index = (object as Rollout).status?.currentStepIndex;
      const name = object.metadata.name ?? '';
      if (!releasing || index === undefined) return;
      const seen = reachedAt.get(name) ?? new Map<number, number>();
      if (!seen.has(index)) seen.set(index, performance.now());
      reachedAt.set(name, seen);
    });
    await Promise.all([rollouts.start(), routes.start(), deployments.start()]);
    const released = (name: string, revision?: string) => {
      const r = rollouts.cache.get(`${namespace}/${name}`) as Rollout | undefined;
      return r?.status?.phase === 'Healthy' && (revision === undefined || r.status.stableRevision !== revision);
    };
    try {
      await Promise.all(
        names.map(async (name) => {
          await client.create(microServiceType, microService(namespace, name, '0'));
          await client.create(rolloutType, rollout(namespace, name, steps));
        }),
      );
      await rollouts.until('all Healthy', () => names.every((name) => released(name)));
      const firstRevision = new Map(
        names.map((name) => [name, (rollouts.cache.get(`${namespace}/${name}`) as Rollout).status?.stableRevision]),
      );
      releasing = true;
      const started = performance.now();
      const sentAt = new Map<string, number>();
      await Promise.all(
        names.map(async (name) => {
          sentAt.set(name, performance.now());
          await client.mergePatch(microServiceType, name, namespace, { spec: { image: `${IMAGE}:1` } });
        }),
      );
      const done = await rollouts.until('all released', () =>
        names.every((name) => released(name, firstRevision.get(name))),
      );
      const figures: StepFigures = { pauseOverheads: [], setWeightTimes: [], totalMs: done - started, probe };
      for (const name of names) {
        const seen = reachedAt.get(name) ?? new Map<number, number>();
        // Step 0 starts with the image patch; step i ends when step i+1 is first seen.
        const startOf = (index: number) => (index === 0 ? sentAt.get(name) : seen.get(index));
        for (let index = 0; index < steps.length; index++) {
          const start = startOf(index);
          // A step may be passed in the same reconcile as the one before it: it ends when any later one shows.
          const later = [...seen].filter(([i]) => i > index).map(([, at]) => at);
          const end = later.length > 0 ? Math.min(...later) : undefined;
          if (start === undefined || end === undefined) continue;
          const took = end - start;
          if ('pause' in (steps[index] as object)) figures.pauseOverheads.push(took - STEP_PAUSE_SECONDS * 1000);
          else figures.setWeightTimes.push(took);
        }
      }
      return figures;
    } finally {
      await Promise.all([rollouts.stop(), routes.stop(), deployments.stop()]);
    }
  });
}

export async function rolloutBench(options: RolloutBenchOptions): Promise<void> {
  const { cluster, print } = options;
  const { crds, origin } = istioCrds();
  await cluster.kubectl(['apply', '--server-side', '--force-conflicts', '-f', '-'], {
    input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: crds }),
  });
  await waitEstablished(cluster, ISTIO_CRD_NAMES);
  print(`rollouts: the operator as a separate process, Istio's VirtualService/DestinationRule CRDs (${origin})`);
  print(`  operator: ${OPERATOR_COMMAND}`);

  const { latencies, probe: promotionProbe } = await promotionLatency(options);
  const p50 = percentile(latencies, 50);
  const p99 = percentile(latencies, 99);
  print(`  promote patch → new weights in the VirtualService, ${latencies.length} promotions:`);
  print(`    p50 ${millis(p50)}, p99 ${millis(p99)}, max ${millis(Math.max(...latencies))}`);
  print(`    ${verdict(p99, GOAL_PROMOTE_P99_MS, millis)}`);
  printUnreadyWeight(print, promotionProbe);

  const steps = await concurrentCanaries(options);
  const count = Math.max(2, Math.round(50 * options.scale));
  print(
    `  ${count} canaries at once (setWeight 20, pause ${STEP_PAUSE_SECONDS}s, setWeight 60, pause ${STEP_PAUSE_SECONDS}s):`,
  );
  print(`    all released in ${formatNumber(steps.totalMs / 1000, 1)} s`);
  print(
    `    time beyond each pause (${steps.pauseOverheads.length} pauses): p50 ${millis(percentile(steps.pauseOverheads, 50))}, ` +
      `p99 ${millis(percentile(steps.pauseOverheads, 99))}`,
  );
  print(`    ${verdict(percentile(steps.pauseOverheads, 99), GOAL_STEP_OVERHEAD_P99_MS, millis)}`);
  print(
    `    setWeight steps (waiting for the canary's pods; ${steps.setWeightTimes.length}): p50 ${millis(percentile(steps.setWeightTimes, 50))}, ` +
      `p99 ${millis(percentile(steps.setWeightTimes, 99))}`,
  );
  printUnreadyWeight(print, steps.probe);
  print(
    `    operator: peak RSS (VmHWM) ${steps.operator.peakRssMiB.toFixed(0)} MiB, RSS at the end ${steps.operator.rssMiB.toFixed(0)} MiB, ` +
      `${steps.operator.cpuSeconds.toFixed(2)} CPU s from its start (the ${count} services created, made Healthy, then released)`,
  );
}

function printUnreadyWeight(print: (line?: string) => void, probe: UnreadyWeightProbe): void {
  const { routeVersions, worstWeight } = probe.result();
  const percent = (value: number) => `${value} %`;
  print(
    `    weight on unready pods, at each of ${routeVersions} VirtualService changes: at most ${percent(worstWeight)}`,
  );
  print(`    ${verdict(worstWeight, GOAL_UNREADY_WEIGHT, percent)}`);
}
