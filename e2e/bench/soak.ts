// The soak scenario of `npm run bench -- soak`: an hour (FLOTILLA_SOAK_MINUTES) of continuous churn
// on 200 services (FLOTILLA_BENCH_SCALE multiplies it), the operator (the bundle, the image's node
// flags) running throughout. Four workers at a time take an idle service and one action, and wait
// for its expected end: a canary released and promoted; a canary aborted, retried and promoted; a
// scale change; a delete and re-create; a drift edit of its Service undone by the operator. Each
// minute: RSS, heap used, event-loop delay and open handles. Printed as a series, written as JSON
// and an SVG chart to FLOTILLA_BENCH_OUT (default dist/bench/). Goals: the last half of the run
// (its last 30 minutes in an hour) within ±5 % of its mean RSS; nothing lost (every action reached
// its expected state).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { microServiceType } from '../../operator/src/controllers/microservice/index.ts';
import type { KubeClient } from '../../operator/src/kube/client.ts';
import { isNotFound } from '../../operator/src/kube/errors.ts';
import { deploymentType, type KubeObject, type ResourceType } from '../../operator/src/kube/objects.ts';
import type { TestCluster } from '../support/cluster.ts';
import { samplesOf } from './metrics-text.ts';
import { createNamespace, inParallel, isReady, stopOperator } from './microservices.ts';
import { OPERATOR_COMMAND, startBundledOperator } from './operator-build.ts';
import { processFigures } from './process-stats.ts';
import { rolloutType, Watched } from './rollouts.ts';
import { flatTail, svgChart } from './svg-chart.ts';

const SERVICES = 200;
const WORKERS = 4;
const SAMPLE_MS = 60_000;
const GOAL_TOLERANCE = 0.05;
const IMAGE = 'registry.example.com/bench/soak';
const serviceType: ResourceType = { group: '', version: 'v1', kind: 'Service', plural: 'services', namespaced: true };

export interface SoakBenchOptions {
  cluster: TestCluster;
  client: KubeClient;
  scale: number;
  print: (line?: string) => void;
}

export interface SoakSample {
  minute: number;
  rssMiB: number;
  heapUsedMiB: number;
  eventLoopP99Ms: number;
  handles: number;
  actions: number;
  lost: number;
}

type Action = 'promote' | 'abort-retry' | 'scale' | 'recreate' | 'drift';
/** How often each action is drawn, of 10. */
const ACTIONS: readonly Action[] = [
  'promote',
  'promote',
  'promote',
  'abort-retry',
  'abort-retry',
  'scale',
  'scale',
  'recreate',
  'drift',
  'drift',
];

type Rollout = KubeObject & { status?: { phase?: string; stableRevision?: string } };
type Service = KubeObject & { spec?: { ports?: { port?: number; targetPort?: number | string }[] } };

const PORT = 8080;

function microService(namespace: string, name: string, tag: number, replicas = 1): KubeObject {
  return {
    apiVersion: 'flotilla.dev/v1alpha1',
    kind: 'MicroService',
    metadata: { name, namespace },
    spec: { image: `${IMAGE}:${tag}`, replicas, ports: [{ name: 'http', port: PORT, targetPort: 8080 }] },
  };
}

function rollout(namespace: string, name: string): KubeObject {
  const steps = [{ setWeight: 50 }, { pause: {} }];
  return {
    apiVersion: 'flotilla.dev/v1alpha1',
    kind: 'Rollout',
    metadata: { name, namespace },
    spec: {
      serviceRef: { name },
      strategy: { canary: { steps, trafficRouting: 'replicas', scaleDownDelaySeconds: 0 } },
    },
  };
}

const WAIT_MS = 180_000;

/** Resolves once `test` holds (checked every 200 ms: it may read several caches); rejects after 3 min. */
async function waitFor(what: string, test: () => boolean): Promise<void> {
  const deadline = performance.now() + WAIT_MS;
  while (!test()) {
    if (performance.now() > deadline) throw new Error(`${what}: not within ${WAIT_MS / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** A small deterministic generator, so that a run's sequence of actions can be repeated. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

export async function soakBench(options: SoakBenchOptions): Promise<SoakSample[]> {
  const { client, cluster, print } = options;
  const minutes = Number(process.env.FLOTILLA_SOAK_MINUTES ?? 60);
  const count = Math.max(WORKERS * 2, Math.round(SERVICES * options.scale));
  const namespace = `flotilla-bench-soak-${Date.now().toString(36)}`;
  const outDir = process.env.FLOTILLA_BENCH_OUT ?? fileURLToPath(new URL('../../dist/bench/', import.meta.url));
  const names = Array.from({ length: count }, (_, i) => `soak-${String(i).padStart(3, '0')}`);
  const tags = new Map(names.map((name) => [name, 0]));
  print(
    `soak: ${minutes} min of churn on ${count} services, ${WORKERS} actions at a time; operator: ${OPERATOR_COMMAND}`,
  );
  print(
    '  actions (of 10): 3 canary promoted, 2 canary aborted then retried and promoted, 2 scale to 0 and back, 1 delete + re-create,',
  );
  print(
    "  2 drift edits of the service's Service (its targetPort) that the operator must undo; each waits for its end",
  );

  await createNamespace(client, namespace);
  const services = new Watched(client, microServiceType, namespace);
  const rollouts = new Watched(client, rolloutType, namespace);
  const kubeServices = new Watched(client, serviceType, namespace);
  const deployments = new Watched(client, deploymentType, namespace);
  const operator = await startBundledOperator(cluster, namespace);
  const samples: SoakSample[] = [];
  const lost: string[] = [];
  let actions = 0;
  try {
    await Promise.all([services.start(), rollouts.start(), kubeServices.start(), deployments.start()]);
    const ms = (name: string) => services.cache.get(`${namespace}/${name}`);
    const ro = (name: string) => rollouts.cache.get(`${namespace}/${name}`) as Rollout | undefined;
    const ready = (name: string) => {
      const object = ms(name);
      return object !== undefined && isReady(object);
    };
    /** spec.replicas of the service's stable Deployment (named after it and labelled with its name). */
    const deploymentReplicas = (name: string) =>
      (deployments.cache.list() as (KubeObject & { spec?: { replicas?: number } })[])
        .filter((d) => d.metadata.labels?.['app.kubernetes.io/name'] === name && (d.spec?.replicas ?? 0) > 0)
        .reduce((sum, d) => sum + (d.spec?.replicas ?? 0), 0);
    const healthy = (name: string) => ro(name)?.status?.phase === 'Healthy' && ready(name);
    const phase = (name: string, wanted: string) => ro(name)?.status?.phase === wanted;

    await inParallel(names, 16, async (name) => {
      await client.create(microServiceType, microService(namespace, name, 0));
      await client.create(rolloutType, rollout(namespace, name));
    });
    const setUpStarted = performance.now();
    await waitFor('every service Healthy', () => names.every(healthy));
    print(
      `  ${count} services Healthy ${((performance.now() - setUpStarted) / 1000).toFixed(0)} s after their creation`,
    );

    const patchRollout = (name: string, spec: object) => client.mergePatch(rolloutType, name, namespace, { spec });
    const release = async (name: string) => {
      const before = ro(name)?.status?.stableRevision;
      const tag = (tags.get(name) ?? 0) + 1;
      tags.set(name, tag);
      await client.mergePatch(microServiceType, name, namespace, { spec: { image: `${IMAGE}:${tag}` } });
      await waitFor(`${name}: canary at its pause`, () => phase(name, 'Paused'));
      return before;
    };
    const promoted = async (name: string, before: string | undefined) => {
      await patchRollout(name, { promote: 'full' });
      await waitFor(
        `${name}: promoted`,
        () =>
          healthy(name) && ro(name)?.status?.stableRevision !== before && ms(name)?.metadata.generation !== undefined,
      );
    };
    const act: Record<Action, (name: string) => Promise<void>> = {
      promote: async (name) => promoted(name, await release(name)),
      'abort-retry': async (name) => {
        const before = await release(name);
        await patchRollout(name, { abort: true });
        await waitFor(`${name}: aborted`, () => phase(name, 'Aborted'));
        await patchRollout(name, { retry: true });
        await waitFor(`${name}: retried, at its pause`, () => phase(name, 'Paused'));
        await promoted(name, before);
      },
      // Down to 0 and back: a change each way, and no more pods than services (the nodes hold 220).
      scale: async (name) => {
        for (const wanted of [0, 1]) {
          await client.mergePatch(microServiceType, name, namespace, { spec: { replicas: wanted } });
          await waitFor(`${name}: scaled to ${wanted}`, () => ready(name) && deploymentReplicas(name) === wanted);
        }
      },
      recreate: async (name) => {
        await client.delete(microServiceType, name, namespace).catch((error: unknown) => {
          if (!isNotFound(error)) throw error;
        });
        await client.delete(rolloutType, name, namespace).catch((error: unknown) => {
          if (!isNotFound(error)) throw error;
        });
        await waitFor(`${name}: deleted`, () => ms(name) === undefined);
        await waitFor(`${name}: Rollout deleted`, () => ro(name) === undefined);
        tags.set(name, 0);
        await client.create(microServiceType, microService(namespace, name, 0));
        await client.create(rolloutType, rollout(namespace, name));
        await waitFor(`${name}: re-created, Healthy`, () => healthy(name));
      },
      drift: async (name) => {
        // A different targetPort, not port: the operator applies ports keyed by port, so an edited port
        // number is a second port beside its own (the API server refuses both with one name: 422).
        await client.mergePatch(serviceType, name, namespace, {
          spec: { ports: [{ name: 'http', port: PORT, targetPort: 9999 }] },
        });
        await waitFor(`${name}: drift undone`, () => {
          const port = (kubeServices.cache.get(`${namespace}/${name}`) as Service | undefined)?.spec?.ports?.[0];
          return port?.targetPort === 'http';
        });
      },
    };

    const next = random(21);
    const busy = new Set<string>();
    const started = performance.now();
    const endAt = started + minutes * 60_000;
    const worker = async () => {
      while (performance.now() < endAt) {
        const idle = names.filter((name) => !busy.has(name));
        const name = idle[Math.floor(next() * idle.length)] as string;
        const action = ACTIONS[Math.floor(next() * ACTIONS.length)] as Action;
        busy.add(name);
        try {
          await act[action](name);
          actions++;
        } catch (error) {
          lost.push(`${action} ${name}: ${error instanceof Error ? error.message : String(error)}`);
          print(`    lost: ${lost.at(-1)}`);
          // Whatever state it is in, the service is left to settle before it is used again.
          await waitFor(`${name}: settled after a lost action`, () => healthy(name)).catch(() => {});
        } finally {
          busy.delete(name);
        }
      }
    };
    const sample = async () => {
      const text = await (await fetch(`${operator.metricsUrl}/metrics`)).text();
      const one = (metric: string) => samplesOf(text, metric)[0]?.value ?? Number.NaN;
      const { rssMiB } = await processFigures(operator.child.pid as number);
      const point: SoakSample = {
        minute: Math.round((performance.now() - started) / 60_000),
        rssMiB,
        heapUsedMiB: one('flotilla_nodejs_heap_size_used_bytes') / 1024 / 1024,
        eventLoopP99Ms: one('flotilla_nodejs_eventloop_lag_p99_seconds') * 1000,
        handles: one('flotilla_nodejs_active_handles_total'),
        actions,
        lost: lost.length,
      };
      samples.push(point);
      print(
        `  min ${String(point.minute).padStart(3)}: RSS ${point.rssMiB.toFixed(1)} MiB, heap used ${point.heapUsedMiB.toFixed(1)} MiB, ` +
          `event-loop delay p99 ${point.eventLoopP99Ms.toFixed(1)} ms, handles ${point.handles}, actions ${actions}, lost ${lost.length}`,
      );
    };
    await sample();
    const sampler = setInterval(() => void sample().catch(() => {}), SAMPLE_MS);
    try {
      await Promise.all(Array.from({ length: WORKERS }, worker));
    } finally {
      clearInterval(sampler);
    }
    await sample();

    const tail = flatTail(
      samples.map((s) => s.rssMiB),
      minutes >= 60 ? 30 / minutes : 0.5,
      GOAL_TOLERANCE,
    );
    print(
      `  RSS over the last ${tail.samples} samples: mean ${tail.mean.toFixed(1)} MiB, farthest ${(tail.worst * 100).toFixed(1)} % from it: ` +
        `${tail.flat ? 'met' : 'NOT met'} (goal ±${GOAL_TOLERANCE * 100} %)`,
    );
    print(
      `  actions: ${actions} reached their expected state, ${lost.length} lost: ${lost.length === 0 ? 'met' : 'NOT met'}`,
    );
    mkdirSync(outDir, { recursive: true });
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const json = join(outDir, `soak-${stamp}.json`);
    const svg = join(outDir, `soak-${stamp}.svg`);
    writeFileSync(json, `${JSON.stringify({ minutes, services: count, samples, lost }, null, 2)}\n`);
    const series = (name: string, unit: string, pick: (s: SoakSample) => number) => ({
      name,
      unit,
      points: samples.map((s) => ({ x: s.minute, y: pick(s) })),
    });
    writeFileSync(
      svg,
      svgChart(`flotilla soak: ${count} services, ${minutes} min, ${actions} actions, ${lost.length} lost`, [
        series('operator RSS', 'MiB', (s) => s.rssMiB),
        series('V8 heap used', 'MiB', (s) => s.heapUsedMiB),
        series('event-loop delay p99 (since start)', 'ms', (s) => s.eventLoopP99Ms),
        series('open handles', 'count', (s) => s.handles),
      ]),
    );
    print(`  series: ${json}`);
    print(`  chart:  ${svg}`);
    return samples;
  } finally {
    await stopOperator(operator);
    await Promise.all([services.stop(), rollouts.stop(), kubeServices.stop(), deployments.stop()]);
    await cluster.kubectl(['delete', 'namespace', namespace, '--ignore-not-found', '--wait=false']).catch(() => {});
  }
}
