// Releases judged by their metrics, end to end: a real Prometheus (Debian's package, started on
// loopback by `npm run prometheus`) scrapes a metrics fixture this test controls (request counters
// per workload, with an error ratio), the operator runs as its own process, and everything is
// driven and read with kubectl. A healthy canary is promoted by analysis alone; a rising error
// rate aborts one; a query with no data pauses one until promoted; a Prometheus that does not
// answer errs it out after consecutiveErrorLimit; a dry-run metric fails without aborting; a
// failing pre-promotion analysis keeps a blue-green preview from taking traffic, and a failing
// post-promotion one switches it back; and an operator SIGKILLed mid-analysis resumes it with no
// measurement lost or taken twice.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { parseDuration } from '../../operator/src/desired/duration.ts';
import { type MetricsFixture, startMetricsFixture, type Traffic } from '../prometheus/fixture.ts';
import { addScrapeTargets, PROMETHEUS_URL, prometheusUp } from '../prometheus/server.ts';
import { connectToCluster } from '../support/cluster.ts';
import { eventually } from '../support/eventually.ts';
import { ensureNamespace, installCrds } from './api-support.ts';
import {
  freshNamespace,
  getJson,
  installIstioCrds,
  kubectlApply,
  microServiceManifest,
  type OperatorProcess,
  startOperator,
} from './microservice-support.ts';

const cluster = await connectToCluster();
const namespace = freshNamespace('analysis');
const IMAGE = 'registry.example.com/shop/orders';
const kubectl = (...args: string[]) => cluster.kubectl(['-n', namespace, ...args]);

interface RunJson {
  metadata: { name: string; labels?: Record<string, string> };
  spec: { gate: string; metrics: { name: string; provider: { prometheus?: { query: string } } }[] };
  status?: {
    phase?: string;
    message?: string;
    metricResults?: {
      name: string;
      phase: string;
      count: number;
      successful: number;
      measurements: { startedAt: string; finishedAt?: string; phase: string; value?: string; message?: string }[];
    }[];
  };
}
interface RolloutJson {
  status?: {
    phase?: string;
    message?: string;
    stableRevision?: string;
    canaryRevision?: string;
    currentStepIndex?: number;
    lastAction?: { action: string; message?: string };
    conditions?: { type: string; status: string; reason: string; message: string; lastTransitionTime: string }[];
    analysisRuns?: { name: string; gate: string; phase: string; metrics?: { name: string; lastValue?: string }[] }[];
  };
}

const rolloutOf = (name: string) => getJson<RolloutJson>(cluster, ['-n', namespace, 'rollout.flotilla.dev', name]);
const runsOf = async (rollout: string) =>
  (
    await getJson<{ items: RunJson[] }>(cluster, [
      '-n',
      namespace,
      'analysisruns',
      '-l',
      `flotilla.dev/rollout=${rollout}`,
    ])
  ).items;
const setImage = (name: string, tag: string) =>
  kubectl(
    'patch',
    'microservice',
    name,
    '--type',
    'merge',
    '-p',
    JSON.stringify({ spec: { image: `${IMAGE}:${tag}` } }),
  );
const patchRollout = (name: string, spec: object) =>
  kubectl('patch', 'rollout.flotilla.dev', name, '--type', 'merge', '-p', JSON.stringify({ spec }));
const waitFor = (name: string, condition: string, timeout = '120s') =>
  kubectl('wait', `rollout.flotilla.dev/${name}`, `--for=condition=${condition}`, `--timeout=${timeout}`);
const conditionOf = (rollout: RolloutJson, type: string) => rollout.status?.conditions?.find((c) => c.type === type);

/**
 * The success ratio of the canary's requests, computed by Prometheus from the fixture's counters
 * (over 10 s: on a loaded machine a scrape may come late, and a shorter window would then hold
 * fewer than two samples — no data).
 */
const SUCCESS_RATIO =
  'sum(rate(app_requests_total{workload="{{workload.canary}}",code="200"}[10s])) / ' +
  'sum(rate(app_requests_total{workload="{{workload.canary}}"}[10s]))';

function template(name: string, metrics: object[], args?: object[]) {
  return {
    apiVersion: 'flotilla.dev/v1alpha1',
    kind: 'AnalysisTemplate',
    metadata: { name, namespace },
    spec: { metrics, ...(args ? { args } : {}) },
  };
}

function successRate(fields: Record<string, unknown> = {}, address = PROMETHEUS_URL) {
  return {
    name: 'success-rate',
    interval: '2s',
    initialDelay: '4s',
    successCondition: 'result >= 0.95',
    provider: { prometheus: { address, query: SUCCESS_RATIO, timeout: '2s' } },
    ...fields,
  };
}

function service(name: string) {
  return microServiceManifest(namespace, name, {
    image: `${IMAGE}:1.0.0`,
    replicas: 2,
    ports: [{ name: 'http', port: 80, targetPort: 8080 }],
  });
}

function rollout(name: string, strategy: object) {
  return {
    apiVersion: 'flotilla.dev/v1alpha1',
    kind: 'Rollout',
    metadata: { name, namespace },
    spec: { serviceRef: { name }, strategy },
  };
}

const HEALTHY: Traffic = { rps: 50, errorRatio: 0.01, latencyMs: 20 };

/**
 * The traffic each service's revisions get, by role: a poller follows the Rollouts' revisions and
 * keeps the fixture's per-workload counters going (the workload is the revision's Deployment).
 */
const traffic = new Map<string, { canary?: Traffic; stable?: Traffic }>();

async function feedFixture(fixture: MetricsFixture, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    try {
      const deployments = await getJson<{ items: { metadata: { name: string; labels?: Record<string, string> } }[] }>(
        cluster,
        ['-n', namespace, 'deployments'],
      );
      const workloadOf = (revision: string | undefined) =>
        deployments.items.find((d) => revision && d.metadata.labels?.['flotilla.dev/revision'] === revision)?.metadata
          .name;
      for (const [name, wanted] of traffic) {
        const status = (await rolloutOf(name)).status;
        for (const role of ['canary', 'stable'] as const) {
          const workload = workloadOf(role === 'canary' ? status?.canaryRevision : status?.stableRevision);
          const profile = wanted[role];
          if (workload && profile) fixture.set(workload, profile);
        }
      }
    } catch {
      // The Rollout may not exist yet; the next round sees it.
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

/** The revision a blue-green service's own Service selects: the active one. */
async function activeRevision(name: string): Promise<string | undefined> {
  const service = await getJson<{ spec: { selector: Record<string, string> } }>(cluster, [
    '-n',
    namespace,
    'service',
    name,
  ]);
  return service.spec.selector['flotilla.dev/revision'];
}

/** A blue-green release that would switch at once, its new version failing half its requests, judged by `gate`. */
async function failingBlueGreen(name: string, gate: 'prePromotionAnalysis' | 'postPromotionAnalysis'): Promise<void> {
  traffic.set(name, { canary: { ...HEALTHY, errorRatio: 0.5 }, stable: HEALTHY });
  await release(name, {
    blueGreen: {
      autoPromotionEnabled: true,
      [gate]: { templates: [{ templateName: 'success-rate' }] },
      scaleDownDelaySeconds: 1,
    },
  });
}

/** A loopback port nothing listens on (bound, then freed). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Deploys `name` at 1.0.0 with `strategy`, waits until it is released, then pushes 2.0.0. */
async function release(name: string, strategy: object): Promise<void> {
  await kubectlApply(cluster, service(name));
  await kubectlApply(cluster, rollout(name, strategy));
  await waitFor(name, 'Ready');
  await setImage(name, '2.0.0');
}

describe('Analysis on a real Prometheus, with the operator as a separate process', { timeout: 900_000 }, () => {
  let operator: OperatorProcess | undefined;
  let fixture: MetricsFixture;
  let removeTargets = () => {};
  const feeding = new AbortController();

  before(async () => {
    await prometheusUp();
    fixture = await startMetricsFixture();
    removeTargets = addScrapeTargets(namespace, [fixture.target]);
    void feedFixture(fixture, feeding.signal);
    await installCrds(cluster);
    await installIstioCrds(cluster);
    await ensureNamespace(cluster, namespace);
    await kubectlApply(cluster, template('success-rate', [successRate({ count: 3 })]));
    operator = await startOperator(cluster, namespace);
    // Prometheus has found the fixture among its targets.
    await eventually(
      'Prometheus scraping the fixture',
      async () => {
        const answer = (await (await fetch(`${PROMETHEUS_URL}/api/v1/targets`)).json()) as {
          data: { activeTargets: { scrapeUrl: string; health: string }[] };
        };
        const target = answer.data.activeTargets.find((t) => t.scrapeUrl.includes(fixture.target));
        assert.equal(target?.health, 'up');
      },
      { timeoutMs: 30_000 },
    );
  });
  after(async () => {
    feeding.abort();
    operator?.child.kill('SIGKILL');
    removeTargets();
    await fixture?.close();
    await cluster.kubectl(['delete', 'namespace', namespace, '--wait=false', '--ignore-not-found']);
  });

  it('a healthy canary is promoted through every step by analysis alone', async () => {
    // Given a canary whose every weight is judged by the success rate Prometheus computes
    traffic.set('healthy', { canary: HEALTHY, stable: HEALTHY });
    const analysis = { templates: [{ templateName: 'success-rate' }] };
    await release('healthy', {
      canary: {
        steps: [{ setWeight: 20 }, { analysis }, { setWeight: 60 }, { analysis }],
        trafficRouting: 'istio',
        scaleDownDelaySeconds: 1,
      },
    });
    // Then, with no one promoting, it is released
    await eventually(
      'released by analysis',
      async () => {
        const r = await rolloutOf('healthy');
        assert.equal(r.status?.phase, 'Healthy', r.status?.message);
        assert.equal(r.status?.canaryRevision, undefined);
      },
      { timeoutMs: 180_000, intervalMs: 500 },
    );
    // And each step's run passed with three measurements of a real ratio
    const runs = await runsOf('healthy');
    assert.equal(runs.length, 2, runs.map((r) => r.metadata.name).join());
    for (const run of runs) {
      assert.equal(run.status?.phase, 'Successful', run.status?.message);
      const result = run.status?.metricResults?.[0];
      assert.equal(result?.count, 3);
      for (const m of result?.measurements ?? []) assert.ok(Number(m.value) > 0.95 && Number(m.value) <= 1, m.value);
      // The query as measured: placeholders filled with the canary's Deployment name
      assert.match(run.spec.metrics[0]?.provider.prometheus?.query ?? '', /workload="healthy-[0-9a-f]+"/);
    }
    assert.equal((await rolloutOf('healthy')).status?.lastAction, undefined, 'no person acted');
  });

  it('a canary whose error rate rises is aborted within one interval of the failing measurement', async () => {
    // Given a canary at a manual pause with a background analysis every 2s, healthy so far
    await kubectlApply(cluster, template('error-watch', [successRate({ initialDelay: '3s', interval: '2s' })]));
    traffic.set('rising', { canary: HEALTHY, stable: HEALTHY });
    await release('rising', {
      canary: {
        steps: [{ setWeight: 25 }, { pause: {} }],
        analysis: { templates: [{ templateName: 'error-watch' }] },
        trafficRouting: 'istio',
      },
    });
    await waitFor('rising', 'Paused');
    await eventually(
      'two good measurements',
      async () => {
        const [run] = await runsOf('rising');
        assert.ok((run?.status?.metricResults?.[0]?.successful ?? 0) >= 2);
      },
      { timeoutMs: 60_000 },
    );
    // When half of the canary's requests start failing
    traffic.set('rising', { canary: { ...HEALTHY, errorRatio: 0.5 }, stable: HEALTHY });
    // Then the release is aborted: Degraded, Aborted with AnalysisFailed, all traffic on stable
    await waitFor('rising', 'Aborted', '60s');
    const r = await rolloutOf('rising');
    assert.equal(r.status?.phase, 'Degraded');
    const aborted = conditionOf(r, 'Aborted');
    assert.equal(aborted?.reason, 'AnalysisFailed');
    assert.match(
      aborted?.message ?? '',
      /metric success-rate Failed: 0\.[0-9]+ does not meet successCondition result >= 0\.95/,
    );
    const vs = await getJson<{ spec: { http: { route: { destination: { subset?: string }; weight?: number }[] }[] } }>(
      cluster,
      ['-n', namespace, 'virtualservices.networking.istio.io', 'rising'],
    );
    assert.deepEqual(
      vs.spec.http[0]?.route
        .map((route) => `${route.destination.subset}:${route.weight ?? 100}`)
        .filter((weight) => !weight.endsWith(':0')),
      ['stable:100'],
    );
    // Within one interval of the failing measurement
    const [run] = await runsOf('rising');
    const failing = run?.status?.metricResults?.[0]?.measurements.find((m) => m.phase === 'Failed');
    assert.ok(failing?.finishedAt);
    const abortedAt = Date.parse(aborted?.lastTransitionTime ?? '');
    // lastTransitionTime has whole seconds: allow the second it was rounded down to.
    assert.ok(
      abortedAt - Date.parse(failing.finishedAt) <= parseDuration('2s'),
      `${failing.finishedAt} → ${aborted?.lastTransitionTime}`,
    );
    // And a Warning Event names the metric, its value and the condition
    const events = await getJson<{ items: { type: string; reason: string; message: string }[] }>(cluster, [
      '-n',
      namespace,
      'events',
      '--field-selector',
      'involvedObject.name=rising,involvedObject.kind=Rollout,reason=AnalysisFailed',
    ]);
    assert.equal(events.items[0]?.type, 'Warning');
    assert.match(events.items[0]?.message ?? '', /success-rate.*does not meet successCondition result >= 0\.95/);
    // And the operator exports what it measured
    const metrics = await (await fetch(`${operator?.metricsUrl}/metrics`)).text();
    assert.match(
      metrics,
      /flotilla_analysis_measurements_total\{[^}]*rollout="rising"[^}]*phase="Failed"[^}]*\} [1-9]/,
    );
    assert.match(
      metrics,
      /flotilla_analysis_measurement_value\{[^}]*rollout="rising"[^}]*metric="success-rate"[^}]*\} 0\.\d+/,
    );
  });

  it('a query with no data pauses the release as Inconclusive; promote goes on', async () => {
    // Given an analysis of a workload nobody sends traffic to
    await kubectlApply(
      cluster,
      template('no-data', [
        successRate({
          initialDelay: '1s',
          count: 2,
          provider: {
            prometheus: {
              address: PROMETHEUS_URL,
              query: 'sum(rate(app_requests_total{workload="{{workload.canary}}-nobody"}[10s]))',
            },
          },
        }),
      ]),
    );
    await release('quiet', {
      canary: {
        steps: [{ setWeight: 50 }, { analysis: { templates: [{ templateName: 'no-data' }] } }],
        trafficRouting: 'istio',
      },
    });
    // Then it pauses, saying why
    await waitFor('quiet', 'Paused');
    const paused = await rolloutOf('quiet');
    assert.equal(conditionOf(paused, 'Paused')?.reason, 'AnalysisInconclusive');
    assert.match(paused.status?.message ?? '', /Inconclusive \(metric success-rate Inconclusive: no data \(\[\]\)/);
    assert.equal(paused.status?.analysisRuns?.[0]?.phase, 'Inconclusive');
    // When a person promotes
    await patchRollout('quiet', { promote: 'step' });
    // Then the release goes on to the end
    await waitFor('quiet', 'Ready');
    assert.equal((await rolloutOf('quiet')).status?.lastAction?.action, 'PromoteStep');
  });

  it('a Prometheus that does not answer gives Error measurements, then an abort after consecutiveErrorLimit', async () => {
    // Given an analysis against an address where no Prometheus listens (a port just freed)
    const closed = await freePort();
    await kubectlApply(
      cluster,
      template('unreachable', [
        successRate({ initialDelay: '0s', interval: '1s', consecutiveErrorLimit: 2 }, `http://127.0.0.1:${closed}`),
      ]),
    );
    await release('dark', {
      canary: {
        steps: [{ setWeight: 50 }, { analysis: { templates: [{ templateName: 'unreachable' }] } }],
        trafficRouting: 'istio',
      },
    });
    // Then it is aborted after three errors in a row, and says why
    await waitFor('dark', 'Aborted', '60s');
    const r = await rolloutOf('dark');
    assert.equal(conditionOf(r, 'Aborted')?.reason, 'AnalysisFailed');
    assert.match(
      r.status?.message ?? '',
      new RegExp(`erred: metric success-rate Error: http://127\\.0\\.0\\.1:${closed}/api/v1/query: ECONNREFUSED`),
    );
    const [run] = await runsOf('dark');
    assert.equal(run?.status?.phase, 'Error');
    assert.deepEqual(
      run?.status?.metricResults?.[0]?.measurements.map((m) => m.phase),
      ['Error', 'Error', 'Error'],
    );
  });

  it('a template that does not exist ends the run in Error at once, and the release says which', async () => {
    await release('typo', {
      canary: {
        steps: [{ setWeight: 50 }, { analysis: { templates: [{ templateName: 'succes-rate' }] } }],
        trafficRouting: 'istio',
      },
    });
    await waitFor('typo', 'Aborted', '60s');
    const r = await rolloutOf('typo');
    assert.equal(conditionOf(r, 'Aborted')?.reason, 'AnalysisFailed');
    assert.match(r.status?.message ?? '', /erred: AnalysisTemplate analysis-[a-z0-9]+\/succes-rate does not exist/);
  });

  it('a failing dry-run metric is reported and does not abort', async () => {
    await kubectlApply(
      cluster,
      template('with-dry-run', [
        successRate({ initialDelay: '3s', count: 2 }),
        {
          ...successRate({ initialDelay: '3s', count: 2, successCondition: 'result > 2' }),
          name: 'impossible',
          dryRun: true,
        },
      ]),
    );
    traffic.set('dry', { canary: HEALTHY, stable: HEALTHY });
    await release('dry', {
      canary: {
        steps: [{ setWeight: 50 }, { analysis: { templates: [{ templateName: 'with-dry-run' }] } }],
        trafficRouting: 'istio',
      },
    });
    await waitFor('dry', 'Ready', '120s');
    const [run] = await runsOf('dry');
    assert.equal(run?.status?.phase, 'Successful', run?.status?.message);
    const dry = run?.status?.metricResults?.find((m) => m.name === 'impossible');
    assert.equal(dry?.phase, 'Failed');
    assert.match(run?.status?.message ?? '', /dry-run impossible failed \(not decisive\)/);
  });

  it('a failing pre-promotion analysis keeps a blue-green preview from taking traffic', async () => {
    // Given a blue-green release that would switch at once, and a preview failing half its requests
    await failingBlueGreen('colours', 'prePromotionAnalysis');
    // While the analysis runs, the active Service stays on the old revision
    const stable = (await rolloutOf('colours')).status?.stableRevision;
    await eventually(
      'the pre-promotion analysis measuring',
      async () => {
        const r = await rolloutOf('colours');
        assert.equal(r.status?.analysisRuns?.[0]?.gate, 'PrePromotion');
        assert.match(r.status?.message ?? '', /waiting for the pre-promotion analysis/);
      },
      { timeoutMs: 60_000 },
    );
    assert.equal(await activeRevision('colours'), stable);
    // Then it fails, the release is aborted, and the switch never happened
    await waitFor('colours', 'Aborted', '60s');
    assert.equal(conditionOf(await rolloutOf('colours'), 'Aborted')?.reason, 'AnalysisFailed');
    assert.equal(await activeRevision('colours'), stable);
  });

  it('a failing post-promotion analysis switches a blue-green Service back to the old revision', async () => {
    // Given a blue-green release that switches at once, judged after the switch, its new version failing
    await failingBlueGreen('judged', 'postPromotionAnalysis');
    const before = await rolloutOf('judged');
    const old = before.status?.stableRevision;
    // Then the Service switches to the new revision, the old one kept, while the analysis judges it
    await eventually(
      'switched, judged after promotion',
      async () => {
        const r = await rolloutOf('judged');
        assert.equal(r.status?.analysisRuns?.[0]?.gate, 'PostPromotion');
        assert.equal(await activeRevision('judged'), r.status?.canaryRevision);
      },
      { timeoutMs: 60_000 },
    );
    // And when it fails, the Service goes back to the old revision and the release is aborted
    await waitFor('judged', 'Aborted', '60s');
    assert.equal(conditionOf(await rolloutOf('judged'), 'Aborted')?.reason, 'AnalysisFailed');
    assert.equal(await activeRevision('judged'), old);
  });

  it('an operator SIGKILLed mid-analysis resumes it: same verdict, no measurement lost or taken twice', async () => {
    await kubectlApply(cluster, template('slow', [successRate({ initialDelay: '4s', interval: '3s', count: 5 })]));
    traffic.set('steady', { canary: HEALTHY, stable: HEALTHY });
    await release('steady', {
      canary: {
        steps: [{ setWeight: 50 }, { analysis: { templates: [{ templateName: 'slow' }] } }],
        trafficRouting: 'istio',
      },
    });
    await eventually(
      'two measurements',
      async () => {
        const [run] = await runsOf('steady');
        assert.ok((run?.status?.metricResults?.[0]?.count ?? 0) >= 2);
      },
      { timeoutMs: 90_000 },
    );
    operator?.child.kill('SIGKILL');
    await operator?.exited;
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    operator = await startOperator(cluster, namespace);
    await waitFor('steady', 'Ready', '120s');
    const [run] = await runsOf('steady');
    assert.equal(run?.status?.phase, 'Successful');
    const measurements = run?.status?.metricResults?.[0]?.measurements ?? [];
    assert.equal(measurements.length, 5);
    const starts = measurements.map((m) => Date.parse(m.startedAt));
    for (let i = 1; i < starts.length; i++) {
      // No measurement twice: each one at least an interval after the one before.
      assert.ok((starts[i] as number) - (starts[i - 1] as number) >= 3_000, JSON.stringify(measurements));
    }
  });
});
