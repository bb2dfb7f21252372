// The Deployment of a MicroService: one container, its ports, env, resources and probes, a
// restricted security context, and nothing time-varying in the pod template.

import type {
  V1Container,
  V1ContainerPort,
  V1Deployment,
  V1EnvVar,
  V1PodTemplateSpec,
  V1Probe,
  V1ResourceRequirements,
} from '@kubernetes/client-node';
import type { MicroService, MicroServiceSpec } from '../api/microservice.ts';
import { canonicalHash } from '../common/hash.ts';
import { InvalidSpecError, InvalidSpecReason } from './errors.ts';
import { buildMessagingEnv } from './messaging.ts';
import {
  childLabels,
  childMeta,
  databaseSecretName,
  identityOf,
  REVISION_LABEL,
  revisionName,
  selectorLabels,
} from './meta.ts';
import { buildTracingEnv } from './observability.ts';
import {
  buildContainerSecurityContext,
  buildEnvFrom,
  buildFileMounts,
  buildFileVolumes,
  buildInitContainers,
  buildLifecycle,
  buildPodSecurityContext,
  buildPodSpecExtras,
} from './pod.ts';
import { buildCacheEnv } from './redis-cache.ts';

export type ServicePortSpec = NonNullable<MicroServiceSpec['ports']>[number];
type ProbeSpec = NonNullable<NonNullable<MicroServiceSpec['probes']>['readiness']>;

/** The port name Prometheus is told to scrape. */
export const METRICS_PORT_NAME = 'metrics';
export const DATABASE_URL_ENV = 'DATABASE_URL';
export const DATABASE_URL_KEY = 'DATABASE_URL';

/** The port the container listens on for a service port. */
export const containerPortOf = (port: ServicePortSpec): number => port.targetPort ?? port.port;

/**
 * The container ports, named as the service ports so that the Service and the probes can refer
 * to them by name. Two service ports on one container port cannot both be named: that is an error.
 */
export function buildContainerPorts(ports: readonly ServicePortSpec[]): V1ContainerPort[] {
  const seen = new Map<string, string>();
  return ports.map((port) => {
    const protocol = port.protocol ?? 'TCP';
    const key = `${containerPortOf(port)}/${protocol}`;
    const other = seen.get(key);
    if (other !== undefined) {
      throw new InvalidSpecError(
        InvalidSpecReason.DuplicateTargetPort,
        `ports ${other} and ${port.name} both target container port ${key}; give each port its own targetPort`,
      );
    }
    seen.set(key, port.name);
    return { name: port.name, containerPort: containerPortOf(port), protocol };
  });
}

function probePort(port: number | string, ports: readonly ServicePortSpec[], which: string): number | string {
  if (typeof port === 'number' || ports.some((p) => p.name === port)) return port;
  const known = ports.map((p) => p.name).join(', ') || 'none';
  throw new InvalidSpecError(
    InvalidSpecReason.UnknownProbePort,
    `the ${which} probe names port ${JSON.stringify(port)}, which is not one of the service's ports (${known})`,
  );
}

/** The API's probe shape as a core/v1 Probe; a port name stays a name (the container ports carry the same names). */
export function buildProbe(probe: ProbeSpec, ports: readonly ServicePortSpec[], which: string): V1Probe {
  const { httpGet, tcpSocket, grpc, exec, ...timing } = probe;
  const out: V1Probe = { ...timing };
  if (httpGet) out.httpGet = { ...httpGet, port: probePort(httpGet.port, ports, which) };
  if (tcpSocket) out.tcpSocket = { port: probePort(tcpSocket.port, ports, which) };
  if (grpc) out.grpc = { ...grpc };
  if (exec) out.exec = { command: [...exec.command] };
  return out;
}

type EnvSpec = NonNullable<MicroServiceSpec['env']>[number];
type ResourcesSpec = NonNullable<MicroServiceSpec['resources']>;

/** A quantity the API let through as a number (`cpu: 1`), in the string form core/v1 types use. */
const quantity = (value: number | string): string => String(value);

const quantities = (list: Record<string, number | string>): Record<string, string> =>
  Object.fromEntries(Object.entries(list).map(([key, value]) => [key, quantity(value)]));

export function toEnvVar(e: EnvSpec): V1EnvVar {
  const env: V1EnvVar = { name: e.name, ...(e.value !== undefined ? { value: e.value } : {}) };
  if (e.valueFrom) {
    const { resourceFieldRef, ...rest } = structuredClone(e.valueFrom);
    env.valueFrom = rest;
    if (resourceFieldRef) {
      const { divisor, ...field } = resourceFieldRef;
      env.valueFrom.resourceFieldRef = { ...field, ...(divisor !== undefined ? { divisor: quantity(divisor) } : {}) };
    }
  }
  return env;
}

function toResources(resources: ResourcesSpec): V1ResourceRequirements {
  return {
    ...(resources.requests ? { requests: quantities(resources.requests) } : {}),
    ...(resources.limits ? { limits: quantities(resources.limits) } : {}),
  };
}

/**
 * The user's env, then DATABASE_URL from the `<name>-db` Secret when the service has a database, and REDIS_URL
 * and REDIS_KEY_PREFIX from the `<name>-cache` Secret when it has a cache, AMQP_URL from the `<name>-mq` Secret
 * when it has messaging (each unless set by hand).
 */
export function buildEnv(name: string, spec: MicroServiceSpec): V1EnvVar[] {
  const env: V1EnvVar[] = (spec.env ?? []).map(toEnvVar);
  if (spec.database && !env.some((e) => e.name === DATABASE_URL_ENV)) {
    env.push({
      name: DATABASE_URL_ENV,
      valueFrom: { secretKeyRef: { name: databaseSecretName(name), key: DATABASE_URL_KEY } },
    });
  }
  return [...env, ...buildCacheEnv(name, spec, env), ...buildMessagingEnv(name, spec, env)];
}

/** Prometheus scrape annotations: spec.observability.metrics, else a port named `metrics`. */
export function buildScrapeAnnotations(
  ports: readonly ServicePortSpec[],
  metricsSpec?: { port: number; path?: string },
): Record<string, string> | undefined {
  if (metricsSpec) {
    return {
      'prometheus.io/scrape': 'true',
      'prometheus.io/port': String(metricsSpec.port),
      'prometheus.io/path': metricsSpec.path ?? '/metrics',
    };
  }
  const metrics = ports.find((p) => p.name === METRICS_PORT_NAME);
  if (!metrics) return undefined;
  return {
    'prometheus.io/scrape': 'true',
    'prometheus.io/port': String(containerPortOf(metrics)),
    'prometheus.io/path': '/metrics',
  };
}

/** The pod-template annotation holding a hash of the database credentials: new credentials roll the pods. */
export const CREDENTIALS_HASH_ANNOTATION = 'flotilla.dev/database-credentials';
/** The pod-template annotation of spec.restartedAt: a restart is a new revision. */
export const RESTARTED_AT_ANNOTATION = 'flotilla.dev/restartedAt';

/** The pod-template annotation holding a hash of the ConfigMaps and Secrets the service reads: an edit rolls the pods. */
export const CONFIG_HASH_ANNOTATION = 'flotilla.dev/config-hash';

export interface PodTemplateOptions {
  /** A hash of the service's database credentials (never the credentials themselves). */
  credentialsHash?: string;
  /** A hash of the data of the ConfigMaps and Secrets the service references (never the data itself). */
  configHash?: string;
  /** The OTLP collector traced services send to (the operator's --otlp-endpoint). */
  otlpEndpoint?: string;
}

/**
 * The pod template: a pure function of the spec (and the credentials hash), so equal inputs give
 * equal templates (and no restarts), and new credentials give a new revision.
 */
export function buildPodTemplate(ms: MicroService, options: PodTemplateOptions = {}): V1PodTemplateSpec {
  const { name } = identityOf(ms);
  const { spec } = ms;
  const ports = spec.ports ?? [];
  const container: V1Container = {
    name,
    image: spec.image,
    ...(spec.command ? { command: [...spec.command] } : {}),
    ...(spec.args ? { args: [...spec.args] } : {}),
    ...(spec.workingDir !== undefined ? { workingDir: spec.workingDir } : {}),
    securityContext: buildContainerSecurityContext(spec.securityContext),
  };
  if (ports.length > 0) container.ports = buildContainerPorts(ports);
  const userEnv = buildEnv(name, spec);
  const env = [...userEnv, ...buildTracingEnv(ms, options.otlpEndpoint, userEnv)];
  if (env.length > 0) container.env = env;
  if (spec.envFrom && spec.envFrom.length > 0) container.envFrom = buildEnvFrom(spec.envFrom);
  const files = spec.files ?? [];
  if (files.length > 0) container.volumeMounts = buildFileMounts(files);
  const lifecycle = buildLifecycle(spec);
  if (lifecycle) container.lifecycle = lifecycle;
  if (spec.resources) container.resources = toResources(spec.resources);
  const probes = spec.probes ?? {};
  if (probes.readiness) container.readinessProbe = buildProbe(probes.readiness, ports, 'readiness');
  if (probes.liveness) container.livenessProbe = buildProbe(probes.liveness, ports, 'liveness');
  if (probes.startup) container.startupProbe = buildProbe(probes.startup, ports, 'startup');

  const extra = {
    ...(options.credentialsHash === undefined ? {} : { [CREDENTIALS_HASH_ANNOTATION]: options.credentialsHash }),
    ...(options.configHash === undefined ? {} : { [CONFIG_HASH_ANNOTATION]: options.configHash }),
    ...(spec.restartedAt === undefined ? {} : { [RESTARTED_AT_ANNOTATION]: spec.restartedAt }),
  };
  const scrape = buildScrapeAnnotations(ports, spec.observability?.metrics);
  // The user's labels and annotations first: Flotilla's own keys (refused at admission) always win.
  const own = Object.keys(extra).length === 0 ? scrape : { ...scrape, ...extra };
  const annotations = spec.podAnnotations ? { ...spec.podAnnotations, ...own } : own;
  const initContainers = buildInitContainers(spec, (list) => list.map(toEnvVar));
  return {
    metadata: {
      labels: { ...spec.podLabels, ...childLabels(name) },
      ...(annotations && Object.keys(annotations).length > 0 ? { annotations } : {}),
    },
    spec: {
      ...buildPodSpecExtras(spec, selectorLabels(name)),
      securityContext: buildPodSecurityContext(spec.securityContext),
      ...(initContainers.length > 0 ? { initContainers } : {}),
      containers: [container],
      ...(files.length > 0 ? { volumes: buildFileVolumes(files) } : {}),
    },
  };
}

export interface DeploymentOptions extends PodTemplateOptions {
  /**
   * One revision of the service, for the release strategies that run several side by side:
   * `computeRevision(buildPodTemplate(ms))` of the spec it was built from. The Deployment is then
   * named `<name>-<revision>`, and it, its selector and its pods carry `flotilla.dev/revision`.
   */
  revision?: string;
  /**
   * Pods to ask for, as a release strategy planned them; `'autoscaled'` leaves the field to the
   * HPA. Default: spec.replicas (1), or left out while autoscaling is set.
   */
  replicas?: number | 'autoscaled';
}

/**
 * The Deployment. `replicas` is left out while autoscaling is set, so that the HPA, not
 * Flotilla, owns that field.
 */
export function buildDeployment(ms: MicroService, options: DeploymentOptions = {}): V1Deployment {
  const { name } = identityOf(ms);
  const { revision } = options;
  const replicas = options.replicas ?? (ms.spec.autoscaling ? 'autoscaled' : (ms.spec.replicas ?? 1));
  const template = buildPodTemplate(ms, {
    ...(options.credentialsHash === undefined ? {} : { credentialsHash: options.credentialsHash }),
    ...(options.configHash === undefined ? {} : { configHash: options.configHash }),
    ...(options.otlpEndpoint === undefined ? {} : { otlpEndpoint: options.otlpEndpoint }),
  });
  const metadata = childMeta(ms, revision ? revisionName(name, revision) : name);
  const selector = selectorLabels(name);
  // Every pod carries its revision, so that a Rollout created later can route to the pods of the
  // plain Deployment (an Istio subset, a per-revision Service) without restarting them. Only a
  // per-revision Deployment selects by it: a selector is immutable.
  const podRevision = revision ?? computeRevision(template);
  metadata.labels[REVISION_LABEL] = podRevision;
  if (revision) selector[REVISION_LABEL] = revision;
  template.metadata = { ...template.metadata, labels: { ...template.metadata?.labels, [REVISION_LABEL]: podRevision } };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata,
    spec: {
      ...(replicas === 'autoscaled' ? {} : { replicas }),
      selector: { matchLabels: selector },
      template,
    },
  };
}

/**
 * A stable 10-character revision of a pod template: the first hex digits of the SHA-256 of its
 * canonical JSON (keys sorted), so equal templates always give the same revision.
 */
export function computeRevision(podTemplate: V1PodTemplateSpec): string {
  return canonicalHash(podTemplate, 10);
}
