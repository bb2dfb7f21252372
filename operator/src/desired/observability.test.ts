import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildPodTemplate } from './deployment.ts';
import { childMeta } from './meta.ts';
import { buildTelemetry, buildTracingEnv } from './observability.ts';
import { microService, withEnv, withHttpPort, withSpec } from './testing.ts';

describe('buildTracingEnv', () => {
  const traced = microService('orders', withHttpPort(), withSpec({ observability: { tracing: { sampling: 5 } } }));

  it('gives a traced service its name, resource attributes with the revision, the sampler and the collector', () => {
    assert.deepEqual(buildTracingEnv(traced, 'http://otel.observability:4317', []), [
      { name: 'FLOTILLA_REVISION', valueFrom: { fieldRef: { fieldPath: "metadata.labels['flotilla.dev/revision']" } } },
      { name: 'OTEL_SERVICE_NAME', value: 'orders' },
      {
        name: 'OTEL_RESOURCE_ATTRIBUTES',
        value:
          'service.name=orders,service.namespace=shop,k8s.namespace.name=shop,service.version=$(FLOTILLA_REVISION)',
      },
      { name: 'OTEL_TRACES_SAMPLER', value: 'parentbased_traceidratio' },
      { name: 'OTEL_TRACES_SAMPLER_ARG', value: '0.05' },
      { name: 'OTEL_EXPORTER_OTLP_ENDPOINT', value: 'http://otel.observability:4317' },
    ]);
  });

  it('sets no endpoint when the operator has none, and nothing for a service without tracing', () => {
    assert.ok(!buildTracingEnv(traced, undefined, []).some((e) => e.name === 'OTEL_EXPORTER_OTLP_ENDPOINT'));
    assert.deepEqual(buildTracingEnv(microService('orders'), 'http://otel:4317', []), []);
  });

  it('leaves a variable the user sets to the user', () => {
    const ms = microService(
      'orders',
      withEnv({ name: 'OTEL_SERVICE_NAME', value: 'legacy-orders' }),
      withSpec({ observability: { tracing: { sampling: 100 } } }),
    );
    const env = buildPodTemplate(ms, { otlpEndpoint: 'http://otel:4317' }).spec?.containers[0]?.env ?? [];
    assert.deepEqual(
      env.filter((e) => e.name === 'OTEL_SERVICE_NAME'),
      [{ name: 'OTEL_SERVICE_NAME', value: 'legacy-orders' }],
    );
  });
});

describe('scrape annotations from spec.observability.metrics', () => {
  it('names the port and path it sets', () => {
    const ms = microService('orders', withSpec({ observability: { metrics: { port: 9102, path: '/stats' } } }));
    assert.deepEqual(buildPodTemplate(ms).metadata?.annotations, {
      'prometheus.io/scrape': 'true',
      'prometheus.io/port': '9102',
      'prometheus.io/path': '/stats',
    });
  });
});

describe('buildTelemetry', () => {
  it('samples a traced service’s pods at its percentage, under a name of its own', () => {
    const ms = microService('orders', withSpec({ observability: { tracing: { sampling: 2.5 } } }));
    assert.deepEqual(buildTelemetry(ms), {
      apiVersion: 'telemetry.istio.io/v1',
      kind: 'Telemetry',
      metadata: childMeta(ms, 'orders-tracing'),
      spec: {
        selector: { matchLabels: { 'app.kubernetes.io/name': 'orders', 'app.kubernetes.io/instance': 'orders' } },
        tracing: [{ randomSamplingPercentage: 2.5 }],
      },
    });
    assert.equal(buildTelemetry(microService('orders')), undefined);
  });
});
