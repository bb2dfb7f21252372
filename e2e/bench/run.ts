// `npm run bench`: the runtime's and the operator's figures on the cluster of `npm run cluster -- up`,
// each beside a plain baseline measured in the same run. A benchmark, not a test: it prints, it
// asserts nothing, and `npm test` does not run it. Its namespaces (flotilla-bench-*) are deleted at
// the end. `npm run bench -- <scenario>...` (runtime, microservices, databases, rollouts, analysis) runs those alone.
// runtime:
//   1. ingest: 5,000 watch events into the reflector + cache, vs a raw watch + JSON parse
//   2. relist time and peak RSS at 5,000 and 20,000 objects, in child processes, vs a raw paginated LIST
//   3. watch-to-reconcile latency p50/p99 over 1,000 edits, vs a raw watch seeing the same edits
// microservices (microservices.ts):
//   4. 200 MicroServices until Ready with the operator process, vs a plain loop creating the same
//      children; the operator's writes per MicroService and its peak RSS
// databases (databases.ts): 100 MicroServices until DatabaseReady vs the same statements in a plain loop;
//   (messaging.ts) 100 until MessagingReady vs the same management API writes, then a second reconcile's writes
// rollouts (rollouts.ts): promote → new weights p50/p99; 50 canaries at once, time beyond each pause
// config (config.ts): 200 services, their 200 ConfigMaps edited at once, until every one rolled out,
//   vs a plain loop patching the same Deployments' pod templates
// analysis (analysis.ts): 50 canaries with a background analysis on the real Prometheus: measurement
//   lateness, CPU per 1,000 measurements, failing measurement → all traffic on stable, RSS with 500 runs
import { execFile } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { createKubeClient, KubeClient, type ListOptions, type ListPage } from '../../operator/src/kube/client.ts';
import { classifyError } from '../../operator/src/kube/errors.ts';
import { configMapType, type KubeObject, type ResourceType } from '../../operator/src/kube/objects.ts';
import { Controller } from '../../operator/src/runtime/controller.ts';
import { ObjectCache } from '../../operator/src/runtime/object-cache.ts';
import { Reflector } from '../../operator/src/runtime/reflector.ts';
import { installCrds } from '../integration/api-support.ts';
import { ensureNamespace } from '../integration/runtime-helpers.ts';
import { connectToCluster, type TestCluster } from '../support/cluster.ts';
import { analysisBench } from './analysis.ts';
import { configBench } from './config.ts';
import { benchDatabases } from './databases.ts';
import { benchMessaging } from './messaging.ts';
import { type Scenario, selectScenarios } from './metrics-text.ts';
import { microServiceBench } from './microservices.ts';
import { rolloutBench } from './rollouts.ts';
import { scaleBench } from './scale.ts';
import { soakBench } from './soak.ts';
import { formatNumber, percentile, verdict } from './stats.ts';

// FLOTILLA_BENCH_SCALE=0.1 runs a tenth of the work: a quick check of the bench itself, not figures.
const SCALE = Number(process.env.FLOTILLA_BENCH_SCALE ?? 1);
const INGEST_OBJECTS = Math.round(5_000 * SCALE);
const LARGE_OBJECTS = Math.round(20_000 * SCALE);
const EDITS = Math.round(1_000 * SCALE);
const CREATE_PARALLELISM = 32;
const GOAL_RELIST_RATIO = 1.3;
const GOAL_P99_OVER_RAW_MS = 50;
const GOAL_RSS_MIB = 250;
const BENCH_LABEL = 'flotilla.dev/bench';

const here = fileURLToPath(new URL('.', import.meta.url));
const execFileAsync = promisify(execFile);
/** What every scenario needs, or one line that says what is missing: no stack trace for a set-up step. */
async function setUp(): Promise<{ scenarios: Scenario[]; cluster: TestCluster }> {
  try {
    const scenarios = selectScenarios(process.argv.slice(2));
    const cluster = await connectToCluster();
    // A cluster just made by `npm run cluster -- up` has none of Flotilla's CRDs yet.
    await installCrds(cluster).catch((error: unknown) => {
      throw new Error(
        `installing Flotilla's CRDs (crds/) failed: ${String((error as { stderr?: string }).stderr ?? error).trim()}`,
      );
    });
    return { scenarios, cluster };
  } catch (error) {
    console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}
const { scenarios, cluster } = await setUp();
const client = await createKubeClient(cluster.kubeConfig);
const namespace = `flotilla-bench-${Date.now().toString(36)}`;
const logger = pino({ level: 'silent' });

const print = (line = '') => console.log(line);
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const millis = (ms: number) => `${ms.toFixed(1)} ms`;
const times = (n: number) => `${n.toFixed(2)}×`;
const mib = (n: number) => `${n.toFixed(0)} MiB`;

/** A small-but-realistic ConfigMap: four labels, an annotation, ~1 KiB of data. */
function benchConfigMap(index: number): KubeObject {
  const settings = Array.from({ length: 24 }, (_, i) => `setting_${i}: value-${(index * 31 + i) % 997}`).join('\n');
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: `bench-${index}`,
      namespace,
      labels: {
        [BENCH_LABEL]: 'true',
        'app.kubernetes.io/name': `service-${index % 50}`,
        'app.kubernetes.io/part-of': 'shop',
        shard: String(index % 16),
      },
      annotations: { 'flotilla.dev/source': 'bench' },
    },
    data: {
      'application.yaml': settings,
      LOG_LEVEL: 'info',
      DATABASE_POOL: String(5 + (index % 10)),
      index: String(index),
    },
  };
}

/** Creates bench-<from>…bench-<to - 1> with parallel requests (a 429 or a transient error is retried). */
async function createConfigMaps(from: number, to: number): Promise<number> {
  const started = performance.now();
  let next = from;
  const worker = async () => {
    while (next < to) {
      const index = next++;
      for (let attempt = 1; ; attempt++) {
        try {
          await client.create(configMapType, benchConfigMap(index));
          break;
        } catch (error) {
          if (attempt >= 5 || classifyError(error) !== 'transient') throw error;
          await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
        }
      }
    }
  };
  await Promise.all(Array.from({ length: CREATE_PARALLELISM }, worker));
  return performance.now() - started;
}

async function currentResourceVersion(): Promise<string> {
  return (await client.listPage(configMapType, { namespace, limit: 1 })).resourceVersion;
}

const isBench = (object: KubeObject) => object.metadata.labels?.[BENCH_LABEL] === 'true';

/** Answers the reflector's first LIST with the (empty) state before the objects were created, so
 * that its watch replays their 5,000 ADDED events from the API server's watch cache. */
class ReplayFromClient extends KubeClient {
  private readonly snapshotVersion: string;
  private replayed = false;

  constructor(base: KubeClient, snapshotVersion: string) {
    super(base.transport);
    this.snapshotVersion = snapshotVersion;
  }

  override async list<T extends KubeObject = KubeObject>(type: ResourceType, options?: ListOptions) {
    if (this.replayed) return super.list<T>(type, options);
    this.replayed = true;
    return { items: [], resourceVersion: this.snapshotVersion } satisfies ListPage<T>;
  }
}

/** Events per second of a raw watch (parse only) replaying `count` creations since `from`. */
async function rawWatchIngest(from: string, count: number): Promise<number> {
  const abort = new AbortController();
  const started = performance.now();
  const events = await client.watch(configMapType, {
    namespace,
    resourceVersion: from,
    timeoutSeconds: 120,
    signal: abort.signal,
  });
  let seen = 0;
  for await (const event of events) {
    if (event.type === 'ADDED' && isBench(event.object) && ++seen === count) break;
  }
  const elapsed = performance.now() - started;
  abort.abort();
  return (count / elapsed) * 1000;
}

/** Events per second of the runtime's Reflector + ObjectCache replaying the same creations. */
async function reflectorIngest(from: string, count: number): Promise<{ rate: number; relists: number }> {
  const cache = new ObjectCache();
  let seen = 0;
  let done: () => void = () => {};
  const all = new Promise<void>((resolve) => {
    done = resolve;
  });
  cache.subscribe((event) => {
    if (event.type === 'added' && isBench(event.object) && ++seen === count) done();
  });
  const reflector = new Reflector({
    client: new ReplayFromClient(client, from),
    type: configMapType,
    cache,
    namespace,
    watchTimeoutSeconds: { min: 120, max: 120 },
  });
  const started = performance.now();
  reflector.start();
  await all;
  const elapsed = performance.now() - started;
  await reflector.stop();
  return { rate: (count / elapsed) * 1000, relists: reflector.relists };
}

interface RelistFigures {
  objects: number;
  ms: number;
  peakRssMiB: number;
  rssMiB: number;
  rssBeforeMiB: number;
  heapMiB: number;
}

async function relistInChild(mode: 'raw' | 'reflector'): Promise<RelistFigures> {
  const { stdout } = await execFileAsync(
    process.execPath,
    ['--expose-gc', join(here, 'relist-child.ts'), mode, namespace],
    {
      maxBuffer: 1024 * 1024,
      timeout: 300_000,
    },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1) as string) as RelistFigures;
}

/** Raw and reflector alternately, three times each: the fastest time of each, and the largest peak RSS. */
async function relistPair(): Promise<{ raw: RelistFigures; reflector: RelistFigures }> {
  const runs: Record<'raw' | 'reflector', RelistFigures[]> = { raw: [], reflector: [] };
  for (let round = 0; round < 3; round++) {
    for (const mode of ['raw', 'reflector'] as const) runs[mode].push(await relistInChild(mode));
  }
  const best = (list: RelistFigures[]): RelistFigures => ({
    objects: Math.max(...list.map((r) => r.objects)),
    ms: Math.min(...list.map((r) => r.ms)),
    peakRssMiB: Math.max(...list.map((r) => r.peakRssMiB)),
    rssMiB: Math.max(...list.map((r) => r.rssMiB)),
    rssBeforeMiB: Math.max(...list.map((r) => r.rssBeforeMiB)),
    heapMiB: Math.max(...list.map((r) => r.heapMiB)),
  });
  return { raw: best(runs.raw), reflector: best(runs.reflector) };
}

function printRelist(count: number, { raw, reflector }: { raw: RelistFigures; reflector: RelistFigures }): void {
  print(
    `  ${formatNumber(count).padStart(6)} objects   raw LIST+parse ${millis(raw.ms).padStart(10)}   ` +
      `reflector+cache ${millis(reflector.ms).padStart(10)}   ` +
      `reflector/raw ${verdict(reflector.ms / raw.ms, GOAL_RELIST_RATIO, times)}`,
  );
  print(
    `                   peak RSS       ${mib(raw.peakRssMiB).padStart(10)}                   ${mib(reflector.peakRssMiB).padStart(10)}` +
      `   (before listing ${mib(raw.rssBeforeMiB)} / ${mib(reflector.rssBeforeMiB)})`,
  );
  print(
    `                   heap after GC  ${mib(raw.heapMiB).padStart(10)}                   ${mib(reflector.heapMiB).padStart(10)}` +
      `   (objects listed ${raw.objects} / ${reflector.objects})`,
  );
}

interface PendingEdit {
  sentAt: number;
  raw?: number;
  reconcile?: number;
  done: () => void;
}

/** 1,000 edits one at a time; for each, when a raw watch saw it and when its reconcile began. */
async function watchToReconcile(): Promise<{ raw: number[]; reconcile: number[] }> {
  const pending = new Map<number, PendingEdit>();
  const settle = (seq: number, field: 'raw' | 'reconcile') => {
    const edit = pending.get(seq);
    if (!edit || edit[field] !== undefined) return;
    edit[field] = performance.now();
    if (edit.raw !== undefined && edit.reconcile !== undefined) edit.done();
  };
  const seqOf = (object: KubeObject | undefined) => {
    const seq = (object?.data as Record<string, string> | undefined)?.seq;
    return seq === undefined ? undefined : Number(seq);
  };

  let initialReconciles = 0;
  let measuring = false;
  const controller = new Controller({
    client,
    primary: configMapType,
    namespace,
    concurrency: 4,
    resyncIntervalMs: 0,
    logger,
    reconcile: async (_key, { object }) => {
      if (!measuring) {
        initialReconciles++;
        return;
      }
      const seq = seqOf(object);
      if (seq !== undefined) settle(seq, 'reconcile');
    },
  });
  await controller.start();
  // The start-up reconciles of every cached object drain before the edits begin.
  while (controller.queue.depth > 0 || controller.queue.active > 0) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  measuring = true;

  const abort = new AbortController();
  const rawEvents = await client.watch(configMapType, {
    namespace,
    resourceVersion: await currentResourceVersion(),
    timeoutSeconds: 600,
    signal: abort.signal,
  });
  const rawWatch = (async () => {
    try {
      for await (const event of rawEvents) {
        const seq = seqOf(event.object);
        if (seq !== undefined) settle(seq, 'raw');
      }
    } catch (error) {
      if (!abort.signal.aborted) throw error;
    }
  })();

  const raw: number[] = [];
  const reconcile: number[] = [];
  try {
    for (let seq = 0; seq < EDITS; seq++) {
      const name = `bench-${(seq * 7) % INGEST_OBJECTS}`;
      let done: () => void = () => {};
      const seen = new Promise<void>((resolve) => {
        done = resolve;
      });
      const edit: PendingEdit = { sentAt: performance.now(), done };
      pending.set(seq, edit);
      await client.mergePatch(configMapType, name, namespace, { data: { seq: String(seq) } });
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        seen,
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`edit ${seq} of ${name} was not seen within 10 s`)), 10_000);
        }),
      ]).finally(() => clearTimeout(timer));
      raw.push((edit.raw as number) - edit.sentAt);
      reconcile.push((edit.reconcile as number) - edit.sentAt);
      pending.delete(seq);
    }
  } finally {
    abort.abort();
    await rawWatch;
    await controller.stop();
  }
  if (initialReconciles < INGEST_OBJECTS) throw new Error(`only ${initialReconciles} start-up reconciles`);
  return { raw, reconcile };
}

async function deleteNamespace(): Promise<void> {
  const started = performance.now();
  await cluster.kubectl(['delete', 'namespace', namespace, '--ignore-not-found', '--timeout=300s']);
  print(`namespace ${namespace} deleted in ${seconds(performance.now() - started)}`);
}

async function main(): Promise<void> {
  const versionInfo = await cluster.kubectl(['version', '-o', 'json']);
  const serverVersion = (JSON.parse(versionInfo) as { serverVersion?: { gitVersion?: string } }).serverVersion;
  print(`Flotilla benchmark (${scenarios.join(', ')}) — ${new Date().toISOString()}`);
  print(
    `API server ${client.transport.server} (Kubernetes ${serverVersion?.gitVersion ?? '?'}), ` +
      `Node ${process.version}, ${availableParallelism()} CPUs`,
  );
  print();
  if (scenarios.includes('runtime')) {
    // Its 20,000 ConfigMaps go before the next scenario starts, also on failure.
    try {
      await runtimeBench();
    } finally {
      await deleteNamespace().catch((error: unknown) => console.error(`bench: cleaning up ${namespace}: ${error}`));
      print();
    }
  }
  if (scenarios.includes('microservices')) await microServiceBench({ cluster, client, scale: SCALE, print });
  if (scenarios.includes('databases')) {
    await benchDatabases(print);
    await benchMessaging(print);
  }
  if (scenarios.includes('rollouts')) await rolloutBench({ cluster, client, scale: SCALE, print });
  if (scenarios.includes('config')) await configBench({ cluster, client, scale: SCALE, print });
  if (scenarios.includes('analysis')) await analysisBench({ cluster, client, scale: SCALE, print });
  if (scenarios.includes('scale')) await scaleBench({ cluster, client, scale: SCALE, print });
  if (scenarios.includes('soak')) await soakBench({ cluster, client, scale: SCALE, print });
}

async function runtimeBench(): Promise<void> {
  print(`objects: ConfigMaps with 4 labels, 1 annotation and ~1 KiB of data, in namespace ${namespace}`);
  print();

  await ensureNamespace(cluster, namespace);
  const beforeCreates = await currentResourceVersion();
  const createMs = await createConfigMaps(0, INGEST_OBJECTS);
  print(
    `created ${formatNumber(INGEST_OBJECTS)} in ${seconds(createMs)} ` +
      `(${formatNumber((INGEST_OBJECTS / createMs) * 1000)}/s, ${CREATE_PARALLELISM} parallel requests)`,
  );
  print();

  print(`1. ingest: ${formatNumber(INGEST_OBJECTS)} ADDED events replayed from the API server's watch cache`);
  const rawRates: number[] = [];
  const reflectorRates: number[] = [];
  let relists = 0;
  for (let round = 0; round < 2; round++) {
    rawRates.push(await rawWatchIngest(beforeCreates, INGEST_OBJECTS));
    const result = await reflectorIngest(beforeCreates, INGEST_OBJECTS);
    reflectorRates.push(result.rate);
    relists += result.relists;
  }
  const rawRate = Math.max(...rawRates);
  const reflectorRate = Math.max(...reflectorRates);
  print(`  raw watch + JSON parse    ${formatNumber(rawRate).padStart(8)} events/s   (best of 2)`);
  print(
    `  reflector + cache         ${formatNumber(reflectorRate).padStart(8)} events/s   (best of 2; ` +
      `${times(reflectorRate / rawRate)} the raw rate)` +
      (relists > 0 ? `  — NOTE: ${relists} relist(s): the watch cache no longer held the events` : ''),
  );
  print();

  print('2. relist: paginated LIST (500 a page) into a cache, each in a child process (best of 3)');
  printRelist(INGEST_OBJECTS, await relistPair());

  print();
  print(`3. watch-to-reconcile: ${formatNumber(EDITS)} edits, one at a time, timed from sending each edit`);
  const latency = await watchToReconcile();
  const rawP50 = percentile(latency.raw, 50);
  const rawP99 = percentile(latency.raw, 99);
  const recP50 = percentile(latency.reconcile, 50);
  const recP99 = percentile(latency.reconcile, 99);
  print(`  raw watch sees the edit       p50 ${millis(rawP50).padStart(9)}   p99 ${millis(rawP99).padStart(9)}`);
  print(`  reconcile of the edit starts  p50 ${millis(recP50).padStart(9)}   p99 ${millis(recP99).padStart(9)}`);
  print(`  p99 above the raw watch: ${verdict(recP99 - rawP99, GOAL_P99_OVER_RAW_MS, millis)}`);
  print();

  const moreMs = await createConfigMaps(INGEST_OBJECTS, LARGE_OBJECTS);
  print(
    `created ${formatNumber(LARGE_OBJECTS - INGEST_OBJECTS)} more in ${seconds(moreMs)} ` +
      `(${formatNumber(((LARGE_OBJECTS - INGEST_OBJECTS) / moreMs) * 1000)}/s)`,
  );
  print('2. relist (continued)');
  const large = await relistPair();
  printRelist(LARGE_OBJECTS, large);
  print(
    `  peak RSS of the process caching ${formatNumber(LARGE_OBJECTS)} objects: ` +
      verdict(large.reflector.peakRssMiB, GOAL_RSS_MIB, mib),
  );
  print();
}

let failed = false;
try {
  await main();
} catch (error) {
  failed = true;
  console.error(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
} finally {
  await client.close();
}
process.exit(failed ? 1 : 0);
