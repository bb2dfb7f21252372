// The config scenario of `npm run bench` (the operator as a separate process): 200 MicroServices,
// each reading its own ConfigMap through envFrom, all Ready; then all 200 ConfigMaps edited at once.
// Figure: the time until every service's Deployment carries the new config hash and has rolled out
// (its new pods available), beside a plain loop that patches the same Deployments' pod templates
// (what hashing config names by hand amounts to) and waits for the same roll-out, the operator
// stopped. Both roll the same pods; the difference is the operator's watch → hash → apply path.
import type { KubeClient } from '../../operator/src/kube/client.ts';
import { configMapType, deploymentType, type KubeObject, type ResourceType } from '../../operator/src/kube/objects.ts';
import type { ObjectCache } from '../../operator/src/runtime/object-cache.ts';
import { startOperator } from '../integration/microservice-support.ts';
import type { TestCluster } from '../support/cluster.ts';
import {
  benchMicroService,
  createNamespace,
  deleteNamespace,
  inParallel,
  isReady,
  stopOperator,
  watchUntil,
} from './microservices.ts';

export interface ConfigBenchOptions {
  cluster: TestCluster;
  client: KubeClient;
  /** FLOTILLA_BENCH_SCALE: 0.1 runs a tenth of the work. */
  scale: number;
  print: (line?: string) => void;
}

const SERVICES = 200;
const PARALLELISM = 32;
const CONFIG_HASH = 'flotilla.dev/config-hash';
const HAND_EDIT = 'bench.flotilla.dev/config';

const microServiceType: ResourceType = {
  group: 'flotilla.dev',
  version: 'v1alpha1',
  kind: 'MicroService',
  plural: 'microservices',
  namespaced: true,
};

const configName = (name: string) => `${name}-config`;

/** A bench service with one pod, no autoscaler, no exposure, reading its ConfigMap through envFrom. */
function configService(index: number, count: number, namespace: string): KubeObject {
  const ms = benchMicroService(index, count, namespace);
  const { autoscaling: _a, expose: _e, dependsOn: _d, ...spec } = ms.spec as Record<string, unknown>;
  return {
    ...ms,
    spec: { ...spec, replicas: 1, envFrom: [{ configMapRef: { name: configName(ms.metadata.name) } }] },
  } as KubeObject;
}

type DeploymentLike = KubeObject & {
  spec?: { replicas?: number; template?: { metadata?: { annotations?: Record<string, string> } } };
  status?: { observedGeneration?: number; replicas?: number; updatedReplicas?: number; availableReplicas?: number };
};

/** The Deployment controller has rolled the current template out: every pod updated and available, none left over. */
function rolledOut(d: DeploymentLike): boolean {
  const want = d.spec?.replicas ?? 1;
  const s = d.status ?? {};
  return (
    (s.observedGeneration ?? 0) >= (d.metadata.generation ?? 0) &&
    s.updatedReplicas === want &&
    s.availableReplicas === want &&
    s.replicas === want
  );
}

const annotation = (d: DeploymentLike, key: string) => d.spec?.template?.metadata?.annotations?.[key];

/** Resolves once `count` Deployments all satisfy `done`, as a watch sees them. */
function allDeployments(
  client: KubeClient,
  namespace: string,
  count: number,
  done: (d: DeploymentLike) => boolean,
  what: string,
) {
  return watchUntil(
    client,
    deploymentType,
    namespace,
    (cache: ObjectCache) => cache.size === count && cache.list().every((d) => done(d as DeploymentLike)),
    what,
  );
}

export async function configBench(options: ConfigBenchOptions): Promise<void> {
  const { cluster, client, print } = options;
  const count = Math.max(2, Math.round(SERVICES * options.scale));
  const namespace = `flotilla-bench-config-${Date.now().toString(36)}`;
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  print();
  print(`config: ${count} MicroServices, each reading its own ConfigMap (envFrom), all edited at once`);
  await createNamespace(client, namespace);
  try {
    const services = Array.from({ length: count }, (_, i) => configService(i, count, namespace));
    await inParallel(services, PARALLELISM, async (ms) => {
      const name = configName(ms.metadata.name ?? '');
      await client.create(configMapType, { metadata: { name, namespace }, data: { LEVEL: 'info' } });
      await client.create(microServiceType, ms);
    });
    const operator = await startOperator(cluster, namespace);
    let operatorMs: number;
    try {
      const ready = await watchUntil(
        client,
        microServiceType,
        namespace,
        (cache) => cache.size === count && cache.list().every(isReady),
        'every MicroService Ready',
      );
      await ready.reached;
      await ready.stop();
      const before = new Map(
        (await client.list<DeploymentLike>(deploymentType, { namespace })).items.map((d) => [
          d.metadata.name,
          annotation(d, CONFIG_HASH),
        ]),
      );
      const edited = await allDeployments(
        client,
        namespace,
        count,
        (d) => annotation(d, CONFIG_HASH) !== before.get(d.metadata.name) && rolledOut(d),
        'every service on its new config',
      );
      const started = performance.now();
      await inParallel(services, PARALLELISM, async (ms) => {
        await client.mergePatch(configMapType, configName(ms.metadata.name ?? ''), namespace, {
          data: { LEVEL: 'debug' },
        });
      });
      operatorMs = (await edited.reached) - started;
      await edited.stop();
    } finally {
      await stopOperator(operator);
    }

    // The plain loop: the operator stopped, the same Deployments' templates patched by hand.
    const patched = await allDeployments(
      client,
      namespace,
      count,
      (d) => annotation(d, HAND_EDIT) === 'v2' && rolledOut(d),
      'every Deployment patched and rolled out',
    );
    const started = performance.now();
    await inParallel(services, PARALLELISM, async (ms) => {
      await client.mergePatch(deploymentType, ms.metadata.name ?? '', namespace, {
        spec: { template: { metadata: { annotations: { [HAND_EDIT]: 'v2' } } } },
      });
    });
    const plainMs = (await patched.reached) - started;
    await patched.stop();

    print(`  a. plain loop: ${count} Deployments' pod templates patched (${PARALLELISM} at a time), until rolled out`);
    print(`     ${seconds(plainMs)}`);
    print(`  b. operator: ${count} ConfigMaps edited (${PARALLELISM} at a time), until every Deployment carries the`);
    print('     new config hash and has rolled out');
    print(`     ${seconds(operatorMs)} (${(operatorMs / plainMs).toFixed(2)}× the plain loop)`);
  } finally {
    await deleteNamespace(options, namespace);
  }
}
