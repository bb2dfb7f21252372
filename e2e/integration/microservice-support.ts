// Helpers of the MicroService reconciler tests (microservice-*.test.ts): the controller run
// in-process against the real API server, with every request it sends recorded.
import { after, before } from 'node:test';
import { pino } from 'pino';
import { createMicroServiceController } from '../../operator/src/controllers/microservice/index.ts';
import { KubeClient } from '../../operator/src/kube/client.ts';
import { createTransport, type KubeTransport } from '../../operator/src/kube/transport.ts';
import type { Controller } from '../../operator/src/runtime/controller.ts';
import type { TestCluster } from '../support/cluster.ts';
import { ensureNamespace, installCrds } from './api-support.ts';

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
