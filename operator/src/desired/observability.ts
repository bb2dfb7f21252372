// Tracing and metrics wired by the platform: the OpenTelemetry environment of the service
// container (the SDKs' own variables, so no code change), and the scrape annotations.
import type { V1EnvVar } from '@kubernetes/client-node';
import type { MicroService } from '../api/microservice.ts';
import { childMeta, identityOf, REVISION_LABEL, selectorLabels } from './meta.ts';

/** The pod's revision, read from its label at run time (the template cannot hold its own hash). */
export const REVISION_ENV = 'FLOTILLA_REVISION';

/**
 * The OTEL_* variables of a traced service: its name, its resource attributes (namespace, service,
 * revision), a parent-based ratio sampler at spec.observability.tracing.sampling percent, and the
 * collector the operator was told of. None without spec.observability.tracing; a variable the
 * user's env already sets is left to the user.
 */
export function buildTracingEnv(
  ms: MicroService,
  otlpEndpoint: string | undefined,
  userEnv: readonly V1EnvVar[],
): V1EnvVar[] {
  const tracing = ms.spec.observability?.tracing;
  if (!tracing) return [];
  const { name, namespace } = identityOf(ms);
  const env: V1EnvVar[] = [
    { name: REVISION_ENV, valueFrom: { fieldRef: { fieldPath: `metadata.labels['${REVISION_LABEL}']` } } },
    { name: 'OTEL_SERVICE_NAME', value: name },
    {
      name: 'OTEL_RESOURCE_ATTRIBUTES',
      value: `service.name=${name},service.namespace=${namespace},k8s.namespace.name=${namespace},service.version=$(${REVISION_ENV})`,
    },
    { name: 'OTEL_TRACES_SAMPLER', value: 'parentbased_traceidratio' },
    { name: 'OTEL_TRACES_SAMPLER_ARG', value: String(tracing.sampling / 100) },
    ...(otlpEndpoint ? [{ name: 'OTEL_EXPORTER_OTLP_ENDPOINT', value: otlpEndpoint }] : []),
  ];
  const taken = new Set(userEnv.map((e) => e.name));
  return env.filter((e) => !taken.has(e.name));
}

/** The Istio Telemetry of a traced service: `<name>-tracing`, so that no Telemetry of the user's is taken over. */
export const telemetryName = (name: string): string => `${name}-tracing`;

/** An Istio Telemetry (telemetry.istio.io/v1) that samples the service's pods at its percentage; none without tracing. */
export function buildTelemetry(ms: MicroService): KubeObjectLike | undefined {
  const tracing = ms.spec.observability?.tracing;
  if (!tracing) return undefined;
  const { name } = identityOf(ms);
  return {
    apiVersion: 'telemetry.istio.io/v1',
    kind: 'Telemetry',
    metadata: childMeta(ms, telemetryName(name)),
    spec: {
      selector: { matchLabels: selectorLabels(name) },
      tracing: [{ randomSamplingPercentage: tracing.sampling }],
    },
  };
}

interface KubeObjectLike {
  apiVersion: string;
  kind: string;
  metadata: ReturnType<typeof childMeta>;
  spec: Record<string, unknown>;
}
