// Helpers of the MicroService reconciler tests (microservice-*.test.ts): the controller run
// in-process against the real API server, with every request it sends recorded; the operator run
// as a child process (`flotilla run`); the route CRDs kept out of a suite.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadAll } from 'js-yaml';
import { pino } from 'pino';
import { createMicroServiceController } from '../../operator/src/controllers/microservice/index.ts';
import { KubeClient } from '../../operator/src/kube/client.ts';
import { createTransport, type KubeTransport } from '../../operator/src/kube/transport.ts';
import type { Controller } from '../../operator/src/runtime/controller.ts';
import { routeCrds } from '../../scripts/route-crds.ts';
import { flotillaCacheRoot } from '../cluster/paths.ts';
import type { TestCluster } from '../support/cluster.ts';
import { eventually } from '../support/eventually.ts';
import { ensureNamespace, installCrds, SAMPLES_DIR } from './api-support.ts';

export interface SentRequest {
  verb: string;
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
}

export interface RunningController {
  controller: Controller;
  client: KubeClient;
  /** Every request the controller sent, in order. */
  requests: SentRequest[];
  /** Requests that write (everything but GET, LIST and WATCH) whose path contains `fragment`. */
  writesTo(fragment: string): SentRequest[];
  stop(): Promise<void>;
}

const READS = new Set(['GET', 'LIST', 'WATCH']);

/** Starts the MicroService controller for `namespace`; resolves once its caches synced. */
export async function startController(cluster: TestCluster, namespace: string): Promise<RunningController> {
  const requests: SentRequest[] = [];
  const inner = await createTransport(cluster.kubeConfig);
  const transport: KubeTransport = {
    server: inner.server,
    request: (request) => {
      requests.push({ verb: request.verb, path: request.path, ...(request.query ? { query: request.query } : {}) });
      return inner.request(request);
    },
    connectionsOpened: () => inner.connectionsOpened(),
    close: () => inner.close(),
  };
  const client = new KubeClient(transport);
  const logger = pino({ level: process.env.LOG_LEVEL ?? 'silent' });
  const controller = createMicroServiceController({ client, logger, namespace, concurrency: 4 });
  await controller.start();
  return {
    controller,
    client,
    requests,
    writesTo: (fragment) => requests.filter((r) => !READS.has(r.verb) && r.path.includes(fragment)),
    stop: async () => {
      await controller.stop();
      await client.close();
    },
  };
}

/** `kubectl get -o json`, parsed. */
export async function getJson<T = Record<string, unknown>>(cluster: TestCluster, args: string[]): Promise<T> {
  return JSON.parse(await cluster.kubectl(['get', ...args, '-o', 'json'])) as T;
}

/** Whether `kubectl get` finds the object. */
export async function exists(cluster: TestCluster, args: string[]): Promise<boolean> {
  const out = await cluster.kubectl(['get', ...args, '--ignore-not-found', '-o', 'name']);
  return out.trim() !== '';
}

export interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
  lastTransitionTime: string;
}

/** The condition `type` of a MicroService. */
export async function conditionOf(
  cluster: TestCluster,
  namespace: string,
  name: string,
  type: string,
): Promise<Condition | undefined> {
  const ms = await getJson<{ status?: { conditions?: Condition[] } }>(cluster, ['-n', namespace, 'microservice', name]);
  return ms.status?.conditions?.find((c) => c.type === type);
}

/** Events about the object `name` of `kind` with `reason`, newest last. */
export async function eventsFor(
  cluster: TestCluster,
  namespace: string,
  name: string,
  reason: string,
): Promise<{ type: string; reason: string; message: string; count?: number }[]> {
  const list = await getJson<{ items: { type: string; reason: string; message: string; count?: number }[] }>(cluster, [
    '-n',
    namespace,
    'events',
    '--field-selector',
    `involvedObject.name=${name},involvedObject.kind=MicroService,reason=${reason}`,
  ]);
  return list.items;
}

/** Applies `manifest` (one object) with kubectl, as a user would. */
export async function kubectlApply(cluster: TestCluster, manifest: object, extra: string[] = []): Promise<void> {
  await cluster.kubectl(['apply', ...extra, '-f', '-'], { input: JSON.stringify(manifest) });
}

/** A MicroService manifest in `namespace`. */
export function microServiceManifest(namespace: string, name: string, spec: Record<string, unknown>) {
  return { apiVersion: 'flotilla.dev/v1alpha1', kind: 'MicroService', metadata: { name, namespace }, spec };
}

/** A namespace name no earlier run used: `<prefix>-<time>`. */
export const freshNamespace = (prefix: string): string => `${prefix}-${Date.now().toString(36)}`;

/**
 * Inside a describe(): installs the CRDs, creates `namespace`, runs the controller for it during
 * the suite, and deletes the namespace afterwards. Returns the running controller's accessor.
 */
export function useControllerIn(cluster: TestCluster, namespace: string): () => RunningController {
  let running: RunningController | undefined;
  before(async () => {
    await installCrds(cluster);
    await ensureNamespace(cluster, namespace);
    running = await startController(cluster, namespace);
  });
  after(async () => {
    await running?.stop();
    await cluster.kubectl(['delete', 'namespace', namespace, '--wait=false', '--ignore-not-found']);
  });
  return () => {
    if (!running) throw new Error('the controller is not running');
    return running;
  };
}

/** The CRDs of the kinds the controller routes with: with any of them served, it writes routes. */
export const ROUTE_CRD_NAMES = [
  'virtualservices.networking.istio.io',
  'destinationrules.networking.istio.io',
  'httproutes.gateway.networking.k8s.io',
];

interface SavedCrd {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: unknown;
}

async function waitUntilGone(cluster: TestCluster, names: string[]): Promise<void> {
  if (names.length === 0) return;
  await cluster.kubectl(['wait', '--for=delete', '--timeout=120s', ...names.map((n) => `crd/${n}`)]).catch(() => {
    // already gone
  });
}

/**
 * Inside a describe(): the suite runs with no route CRD (no Istio, no Gateway API), whatever the
 * cluster had. Before it, the route CRDs present (the real ones `npm start` installs, say) are
 * saved and deleted; after it, whatever route CRD the suite made is deleted and the saved ones are
 * put back as they were (server-side apply, like npm start). Objects of those kinds (routes of a
 * person's `npm start` in `shop`) go with their CRD; a running operator writes them again once the
 * CRDs are back. Nothing that was not there before the suite is left behind.
 */
export function withoutRouteCrds(cluster: TestCluster): void {
  let saved: SavedCrd[] = [];
  before(async () => {
    const found = await cluster.kubectl(['get', 'crd', '--ignore-not-found', '-o', 'json', ...ROUTE_CRD_NAMES]);
    const items = found.trim() === '' ? [] : ((JSON.parse(found) as { items?: SavedCrd[] }).items ?? []);
    saved = items.map(({ apiVersion, kind, metadata, spec }) => ({
      apiVersion,
      kind,
      metadata: {
        name: metadata.name,
        ...(metadata.labels ? { labels: metadata.labels } : {}),
        ...(metadata.annotations ? { annotations: metadata.annotations } : {}),
      },
      spec,
    }));
    await cluster.kubectl(['delete', 'crd', '--ignore-not-found', '--wait=false', ...ROUTE_CRD_NAMES]);
    await waitUntilGone(cluster, ROUTE_CRD_NAMES);
  });
  after(async () => {
    await cluster.kubectl(['delete', 'crd', '--ignore-not-found', '--wait=false', ...ROUTE_CRD_NAMES]);
    if (saved.length === 0) return;
    await waitUntilGone(cluster, ROUTE_CRD_NAMES);
    await cluster.kubectl(['apply', '--server-side', '--force-conflicts', '-f', '-'], {
      input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: saved }),
    });
    await waitEstablished(
      cluster,
      saved.map((crd) => crd.metadata.name),
    );
  });
}

/**
 * `kubectl wait --for=condition=Established` on CRDs just applied; retried, since kubectl fails
 * at once on a CRD whose status has no conditions yet.
 */
export async function waitEstablished(cluster: TestCluster, names: string[]): Promise<void> {
  await eventually(
    'CRDs Established',
    async () => {
      await cluster.kubectl(['wait', '--for=condition=Established', '--timeout=30s', ...names.map((n) => `crd/${n}`)]);
    },
    { timeoutMs: 60_000, intervalMs: 500 },
  );
}

const MAIN = fileURLToPath(new URL('../../operator/src/main.ts', import.meta.url));

/** The shop's MicroServices, Rollouts, ConfigMaps and Secrets from samples/, moved into `namespace`. */
export function shopSamples(namespace: string): object[] {
  const files = ['05-registry.yaml', '20-users.yaml', '21-orders.yaml', '22-payments.yaml', '23-inventory.yaml'];
  return files.flatMap((file) =>
    (loadAll(readFileSync(join(SAMPLES_DIR, file), 'utf8')) as { kind: string; metadata: { namespace: string } }[])
      .filter((doc) => doc && ['MicroService', 'Rollout', 'ConfigMap', 'Secret'].includes(doc.kind))
      .map((doc) => ({ ...doc, metadata: { ...doc.metadata, namespace } })),
  );
}

export const SHOP_SERVICES = ['users', 'orders', 'payments', 'inventory'];

/**
 * Deletes a namespace of the shop samples once its operator is stopped. Samples whose database is on
 * a DatabaseServer that exists (npm start's) hold a finalizer that no operator would remove: it goes first.
 */
/**
 * Removes the finalizers of every MicroService in `namespace`, once no operator runs there, so that
 * the namespace can be deleted (a service whose database server exists holds one).
 */
export async function releaseFinalizers(cluster: TestCluster, namespace: string): Promise<void> {
  const list = await cluster.kubectl(['-n', namespace, 'get', 'microservices', '-o', 'name']).catch(() => '');
  for (const ref of list.split('\n').filter(Boolean)) {
    await cluster.kubectl(['-n', namespace, 'patch', ref, '--type', 'merge', '-p', '{"metadata":{"finalizers":null}}']);
  }
}

export async function deleteShopNamespace(cluster: TestCluster, namespace: string): Promise<void> {
  const release = JSON.stringify({ metadata: { finalizers: null } });
  await cluster
    .kubectl(['-n', namespace, 'patch', 'microservices', ...SHOP_SERVICES, '--type', 'merge', '-p', release])
    .catch(() => '');
  await cluster.kubectl(['delete', 'namespace', namespace, '--wait=false', '--ignore-not-found']);
}

export type LogLine = Record<string, unknown>;

export interface OperatorProcess {
  child: ChildProcess;
  /** Its JSON log lines, parsed, and as written. */
  lines: LogLine[];
  raw: string[];
  healthUrl: string;
  metricsUrl: string;
  /** Its exit code. */
  exited: Promise<number | null>;
}

/**
 * `node operator/src/main.ts run` (what users run) as a child process for `namespace`, without
 * leader election, health and metrics on free ports; resolves once it is ready (/readyz).
 * `options.env` replaces its environment; `options.nodeFlags` go to node before the script (the bench
 * passes the image's); `options.main` replaces the script (the bench runs the bundle `npm run build`
 * makes); `options.args` go to `flotilla run` after the others.
 */
export async function startOperator(
  cluster: TestCluster,
  namespace: string,
  options: { env?: NodeJS.ProcessEnv; nodeFlags?: readonly string[]; main?: string; args?: readonly string[] } = {},
): Promise<OperatorProcess> {
  const { env = process.env, nodeFlags = [], main = MAIN, args = [] } = options;
  const child = spawn(
    process.execPath,
    [
      ...nodeFlags,
      main,
      'run',
      '--kubeconfig',
      cluster.kubeconfigPath,
      '--namespace',
      namespace,
      '--no-leader-elect',
      '--health-probe-bind-address',
      '127.0.0.1:0',
      '--metrics-bind-address',
      '127.0.0.1:0',
      ...args,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'], env },
  );
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const lines: LogLine[] = [];
  const raw: string[] = [];
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
    raw.push(line);
    lines.push(JSON.parse(line) as LogLine);
  });
  let endpoints: LogLine | undefined;
  await eventually('the endpoints are logged', () => {
    endpoints = lines.find((line) => line.msg === 'endpoints');
    assert.ok(endpoints);
  });
  const healthUrl = String(endpoints?.health);
  const metricsUrl = String(endpoints?.metrics);
  await eventually('ready', async () => assert.equal((await fetch(`${healthUrl}/readyz`)).status, 200));
  return { child, lines, raw, healthUrl, metricsUrl, exited };
}

/** Write requests so far, from the operator's /metrics (flotilla_api_requests_total by verb). */
export async function writesSoFar(metricsUrl: string): Promise<number> {
  const text = await (await fetch(`${metricsUrl}/metrics`)).text();
  let total = 0;
  for (const match of text.matchAll(/^flotilla_api_requests_total\{([^}]*)\} (\d+)/gm)) {
    const verb = /verb="([A-Z]+)"/.exec(match[1] ?? '')?.[1] ?? '';
    if (!READS.has(verb)) total += Number(match[2]);
  }
  return total;
}
export const ISTIO_CRD_NAMES = ['virtualservices.networking.istio.io', 'destinationrules.networking.istio.io'];
export const GATEWAY_API_CRD_NAMES = ['httproutes.gateway.networking.k8s.io'];

/** The CRDs `names` of one project's route CRDs, as npm start gets them; and whether real. */
export function projectCrds(module: string, names: string[]): { crds: object[]; origin: string } {
  const project = routeCrds(join(flotillaCacheRoot(), 'route-crds')).find((c) => c.source.module === module);
  assert.ok(project);
  const docs = loadAll(readFileSync(project.file, 'utf8')) as { metadata?: { name?: string } }[];
  const crds = docs.filter((doc) => names.includes(doc?.metadata?.name ?? ''));
  assert.equal(crds.length, names.length);
  return { crds, origin: project.origin };
}

/** Istio's CRDs of VirtualService and DestinationRule, as npm start gets them; and whether real. */
export function istioCrds(): { crds: object[]; origin: string } {
  return projectCrds('istio.io/api', ISTIO_CRD_NAMES);
}

/** The Gateway API's HTTPRoute CRD, as npm start gets it. */
export function gatewayApiCrds(): object[] {
  return projectCrds('sigs.k8s.io/gateway-api', GATEWAY_API_CRD_NAMES).crds;
}

/**
 * Makes a Deployment's pods start but never get Ready: kwok keeps pods labelled
 * flotilla.dev/simulate=not-ready unready (e2e/cluster/stages). Recreate, so none of the old stays.
 */
export async function breakPodsOf(cluster: TestCluster, namespace: string, deployment: string): Promise<void> {
  const patch = {
    spec: {
      strategy: { type: 'Recreate', rollingUpdate: null },
      template: { metadata: { labels: { 'flotilla.dev/simulate': 'not-ready' } } },
    },
  };
  await cluster.kubectl([
    '-n',
    namespace,
    'patch',
    'deployment',
    deployment,
    '--type',
    'merge',
    '-p',
    JSON.stringify(patch),
  ]);
}

/** Applies Istio's VirtualService and DestinationRule CRDs (server-side) and waits until they are served. */
export async function installIstioCrds(cluster: TestCluster): Promise<void> {
  const { crds } = istioCrds();
  await cluster.kubectl(['apply', '--server-side', '--force-conflicts', '-f', '-'], {
    input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: crds }),
  });
  await waitEstablished(cluster, ISTIO_CRD_NAMES);
}
