// The MicroService controller: the primary kind, the children it watches (labelled managed-by
// flotilla; their changes re-queue the owner, so drift is repaired within a second), the Rollouts,
// DatabaseServers and CustomResourceDefinitions whose changes matter to a service, and the reconciler.

import type { Logger } from 'pino';
import { releaseView } from '../../analysis/release-runs.ts';
import { analysisRunType, ROLLOUT_LABEL } from '../../analysis/resources.ts';
import type { MicroService } from '../../api/microservice.ts';
import { type Clock, systemClock } from '../../common/clock.ts';
import type { EngineRegistry, RedisEngineRegistry } from '../../database/index.ts';
import { LABEL_MANAGED_BY, MANAGED_BY } from '../../desired/index.ts';
import type { KubeClient } from '../../kube/client.ts';
import { isNamespaceTerminating } from '../../kube/errors.ts';
import { EventRecorder } from '../../kube/events.ts';
import {
  customResourceDefinitionType,
  type KubeObject,
  namespaceType,
  objectKey,
  secretType,
} from '../../kube/objects.ts';
import { createProvisioners, type ProvisionerOptions } from '../../provisioning/index.ts';
import { createReleasePlanner } from '../../release/rollout.ts';
import type { WorkloadPlanner } from '../../release/workloads.ts';
import { Controller, type ControllerOptions, controllerOwnerKeys, type Reconciler } from '../../runtime/controller.ts';
import { DynamicWatches } from '../../runtime/dynamic-watches.ts';
import type { RuntimeMetrics } from '../../runtime/metrics.ts';
import { WriteTracker } from '../../runtime/write-tracker.ts';
import { isServed } from '../../traffic/index.ts';
import { VerdictChanges } from '../analysis/verdict-changes.ts';
import { type ConfigWatches, watchConfig } from './config-digests.ts';
import { createMicroServiceReconciler } from './reconcile.ts';
import {
  crdName,
  databaseServerType,
  microServiceType,
  ROUTE_CHILD_TYPES,
  rolloutType,
  telemetryType,
  WORKLOAD_CHILD_TYPES,
} from './resources.ts';

export interface MicroServiceControllerOptions {
  client: KubeClient;
  logger: Logger;
  metrics?: RuntimeMetrics;
  /** All namespaces when undefined. */
  namespace?: string;
  concurrency?: number;
  clock?: Clock;
  resyncIntervalMs?: number;
  reflector?: ControllerOptions['reflector'];
  workloads?: WorkloadPlanner;
  /** The OTLP collector (e.g. http://otel-collector.observability:4317) traced services send to. */
  otlpEndpoint?: string;
  /** Provisioning (spec.database, spec.cache, spec.messaging); databases, caches and brokers are left alone without. */
  databases?: { engines: EngineRegistry; cacheEngines?: RedisEngineRegistry } & Pick<
    ProvisionerOptions,
    'reclaimTimeoutMs' | 'verifyIntervalMs' | 'afterSecretCreated' | 'brokerEngine'
  >;
}

/** The CRDs whose coming and going changes what services get: the route kinds and Istio's Telemetry. */
const ROUTE_CRDS = new Set([...ROUTE_CHILD_TYPES, telemetryType].map(crdName));

/** The runtime's Controller, plus the route watches it starts as route kinds appear and the config watches. */
export class MicroServiceController extends Controller {
  routeWatches: DynamicWatches | undefined;
  configWatches: ConfigWatches | undefined;

  /** The config watches start once the MicroServices are known, so that they keep only what those reference. */
  override async start(): Promise<void> {
    await super.start();
    this.configWatches?.start();
  }

  override async stop(): Promise<void> {
    await super.stop();
    await Promise.all([this.routeWatches?.stop(), this.configWatches?.stop()]);
  }
}

export function createMicroServiceController(options: MicroServiceControllerOptions): MicroServiceController {
  const { client, logger } = options;
  const clock = options.clock ?? systemClock;
  const tracker = new WriteTracker();
  const recorder = new EventRecorder(client, {
    clock,
    onError: (error, event) =>
      // An Event cannot be created in a namespace being deleted; that is no failure.
      isNamespaceTerminating(error)
        ? logger.debug({ reason: event.reason }, 'no Event in a namespace being deleted')
        : logger.warn({ err: error, reason: event.reason }, 'could not record an Event'),
  });
  const managed = `${LABEL_MANAGED_BY}=${MANAGED_BY}`;
  // Keys of every MicroService, for changes that concern them all (a router installed).
  const allServices = (): string[] => [...controller.cache(microServiceType).keys()];
  const servicesOnServer = (server: KubeObject): string[] =>
    controller
      .cache<MicroService>(microServiceType)
      .list()
      .filter(
        (ms) =>
          ms.spec.database?.serverRef === server.metadata.name ||
          ms.spec.cache?.serverRef === server.metadata.name ||
          ms.spec.messaging?.serverRef === server.metadata.name,
      )
      .map(objectKey);
  // A namespace's labels decide whether a DatabaseServer that admits namespaces by label admits its services.
  const servicesInNamespace = (namespace: KubeObject): string[] =>
    controller
      .cache<MicroService>(microServiceType)
      .list()
      .filter(
        (ms) =>
          ms.metadata.namespace === namespace.metadata.name && (ms.spec.database || ms.spec.cache || ms.spec.messaging),
      )
      .map(objectKey);

  const analysisVerdicts = new VerdictChanges();
  let reconciler: Reconciler = async () => {};
  const controller = new MicroServiceController({
    client,
    primary: microServiceType,
    secondary: [
      ...WORKLOAD_CHILD_TYPES.map((type) => ({
        type,
        labelSelector: managed,
        keysFor: controllerOwnerKeys(microServiceType.kind),
      })),
      // A service's NetworkPolicy lets in the services that depend on it.
      {
        type: microServiceType,
        keysFor: (object: KubeObject) =>
          ((object as MicroService).spec?.dependsOn ?? []).map((name) =>
            objectKey({ metadata: { name, namespace: object.metadata.namespace } }),
          ),
      },
      // A Rollout's change (a person's promote or abort) and an analysis verdict go before routine work: a
      // failing canary loses its traffic even while a resync of every service is queued.
      {
        type: rolloutType,
        urgent: true,
        keysFor: (rollout: KubeObject) => {
          const name = (rollout.spec as { serviceRef?: { name?: string } } | undefined)?.serviceRef?.name;
          return name ? [objectKey({ metadata: { name, namespace: rollout.metadata.namespace } })] : [];
        },
      },
      { type: databaseServerType, keysFor: servicesOnServer },
      // An AnalysisRun's verdicts move its release on (or abort it); a measurement that changes none
      // of them does not cost a reconcile of the service.
      {
        type: analysisRunType,
        labelSelector: managed,
        keysFor: analysisVerdicts.keysFor,
        project: releaseView,
        urgent: true,
      },
      // The `<name>-db` Secrets: deleted or edited by hand, they are repaired. The Namespaces: their labels
      // decide which DatabaseServers admit them (allowedNamespaces.from: Selector).
      ...(options.databases
        ? [
            { type: secretType, labelSelector: managed, keysFor: controllerOwnerKeys(microServiceType.kind) },
            { type: namespaceType, keysFor: servicesInNamespace },
          ]
        : []),
      {
        type: customResourceDefinitionType,
        keysFor: (crd: KubeObject) => (ROUTE_CRDS.has(crd.metadata.name ?? '') ? allServices() : []),
      },
    ],
    reconcile: (key, context) => reconciler(key, context),
    logger,
    clock,
    ...(options.namespace !== undefined ? { namespace: options.namespace } : {}),
    ...(options.concurrency !== undefined ? { concurrency: options.concurrency } : {}),
    ...(options.metrics ? { metrics: options.metrics } : {}),
    ...(options.resyncIntervalMs !== undefined ? { resyncIntervalMs: options.resyncIntervalMs } : {}),
    ...(options.reflector ? { reflector: options.reflector } : {}),
  });

  const configWatches = watchConfig({
    client,
    logger,
    enqueue: (key) => controller.queue.add(key),
    ...(options.namespace !== undefined ? { namespace: options.namespace } : {}),
    ...(options.reflector ? { reflector: options.reflector } : {}),
  });
  configWatches.references.follow(controller.cache<MicroService>(microServiceType));
  controller.configWatches = configWatches;

  reconciler = createMicroServiceReconciler({
    configDigests: configWatches.caches,
    ...(options.otlpEndpoint ? { otlpEndpoint: options.otlpEndpoint } : {}),
    client,
    recorder,
    clock,
    tracker,
    cache: (type) => controller.cache(type),
    rolloutCache: controller.cache(rolloutType),
    crdCache: controller.cache(customResourceDefinitionType),
    databaseServerCache: controller.cache(databaseServerType),
    routeCache: (type) => routeWatches.syncedCache(type),
    workloads:
      options.workloads ??
      createReleasePlanner({
        analysisRuns: (namespace, rollout) =>
          controller
            .cache(analysisRunType)
            .list({ namespace })
            .filter((run) => run.metadata.labels?.[ROLLOUT_LABEL] === rollout),
      }),
    ...(options.databases
      ? {
          namespaces: controller.cache(namespaceType),
          provisioners: createProvisioners({
            ...options.databases,
            client,
            clock,
            microServices: controller.cache(microServiceType),
            databaseServers: controller.cache(databaseServerType),
            namespaces: controller.cache(namespaceType),
            secrets: controller.cache(secretType),
            onWrite: (written) => tracker.wrote(written, microServiceType.kind),
          }),
        }
      : {}),
  });
  for (const type of [...WORKLOAD_CHILD_TYPES, microServiceType, rolloutType]) {
    controller.cache(type).subscribe((event) => tracker.observe(event, type.kind));
  }
  const ownerKeys = controllerOwnerKeys(microServiceType.kind);
  const routeWatches = new DynamicWatches({
    client,
    labelSelector: managed,
    logger,
    ...(options.namespace !== undefined ? { namespace: options.namespace } : {}),
    ...(options.reflector ? { reflector: options.reflector } : {}),
    onChange: (type) => (event) => {
      tracker.observe(event, type.kind);
      for (const key of ownerKeys(event.object)) controller.queue.add(key);
    },
  });
  controller.routeWatches = routeWatches;
  const crdCache = controller.cache(customResourceDefinitionType);
  crdCache.subscribe((event) => {
    const type = [...ROUTE_CHILD_TYPES, telemetryType].find((t) => crdName(t) === event.object.metadata.name);
    if (type)
      routeWatches.ensure(
        type,
        isServed((name) => crdCache.get(name), crdName(type), type.version),
      );
  });
  return controller;
}
