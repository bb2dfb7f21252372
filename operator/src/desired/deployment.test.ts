import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Container, V1Deployment } from '@kubernetes/client-node';
import { buildDeployment, buildPodTemplate, computeRevision } from './deployment.ts';
import { InvalidSpecError } from './errors.ts';
import { childMeta } from './meta.ts';
import {
  type Modifier,
  microService,
  validChild,
  withAutoscaling,
  withDatabase,
  withEnv,
  withHttpPort,
  withImage,
  withPorts,
  withProbes,
  withReplicas,
  withResources,
} from './testing.ts';

const containerOf = (d: V1Deployment): V1Container => {
  const container = d.spec?.template.spec?.containers[0];
  assert.ok(container, 'the pod template has a container');
  return container;
};

describe('buildDeployment', () => {
  it('builds the minimal Deployment of a service with one port', () => {
    const ms = microService('orders', withHttpPort());
    const revision = computeRevision(buildPodTemplate(ms));
    const meta = childMeta(ms);
    assert.deepEqual(validChild(buildDeployment(ms)), {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      // childMeta is spelled out in meta.test.ts; every pod carries its revision, the selector does not.
      metadata: { ...meta, labels: { ...meta.labels, 'flotilla.dev/revision': revision } },
      spec: {
        replicas: 1,
        selector: { matchLabels: { 'app.kubernetes.io/name': 'orders', 'app.kubernetes.io/instance': 'orders' } },
        template: {
          metadata: {
            labels: {
              'app.kubernetes.io/name': 'orders',
              'app.kubernetes.io/instance': 'orders',
              'app.kubernetes.io/managed-by': 'flotilla',
              'flotilla.dev/revision': revision,
            },
          },
          spec: {
            securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
            containers: [
              {
                name: 'orders',
                image: 'registry.example.com/shop/orders:1.0.0',
                securityContext: {
                  allowPrivilegeEscalation: false,
                  capabilities: { drop: ['ALL'] },
                  runAsNonRoot: true,
                  seccompProfile: { type: 'RuntimeDefault' },
                },
                ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
              },
            ],
          },
        },
      },
    });
  });

  const cases: { name: string; modifiers: Modifier[]; check: (d: V1Deployment) => void }[] = [
    {
      name: 'no ports: the container has no ports field and the pod no scrape annotations',
      modifiers: [],
      check: (d) => {
        assert.equal(containerOf(d).ports, undefined);
        assert.equal(d.spec?.template.metadata?.annotations, undefined);
      },
    },
    {
      name: 'the image of the spec',
      modifiers: [withImage('registry.example.com/shop/orders:2.0.0')],
      check: (d) => assert.equal(containerOf(d).image, 'registry.example.com/shop/orders:2.0.0'),
    },
    {
      name: 'spec.replicas',
      modifiers: [withReplicas(3)],
      check: (d) => assert.equal(d.spec?.replicas, 3),
    },
    {
      name: 'zero replicas stay zero',
      modifiers: [withReplicas(0)],
      check: (d) => assert.equal(d.spec?.replicas, 0),
    },
    {
      name: 'autoscaling: replicas is left out, even when spec.replicas is set, so the HPA owns it',
      modifiers: [withReplicas(3), withAutoscaling({ maxReplicas: 5 })],
      check: (d) => assert.equal('replicas' in (d.spec ?? {}), false),
    },
    {
      name: 'targetPort defaults to port; protocols are carried and default to TCP',
      modifiers: [withPorts({ name: 'http', port: 8080 }, { name: 'dns', port: 53, protocol: 'UDP' })],
      check: (d) =>
        assert.deepEqual(containerOf(d).ports, [
          { name: 'http', containerPort: 8080, protocol: 'TCP' },
          { name: 'dns', containerPort: 53, protocol: 'UDP' },
        ]),
    },
    {
      name: 'a port named metrics: Prometheus scrape annotations with the container port',
      modifiers: [withHttpPort(), withPorts({ name: 'metrics', port: 9090, targetPort: 9100 })],
      check: (d) =>
        assert.deepEqual(d.spec?.template.metadata?.annotations, {
          'prometheus.io/scrape': 'true',
          'prometheus.io/port': '9100',
          'prometheus.io/path': '/metrics',
        }),
    },
    {
      name: 'env is copied as given, valueFrom included',
      modifiers: [
        withEnv(
          { name: 'LOG_FORMAT', value: 'json' },
          { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
          { name: 'CPU', valueFrom: { resourceFieldRef: { resource: 'limits.cpu', divisor: 1 } } },
        ),
      ],
      check: (d) =>
        assert.deepEqual(containerOf(d).env, [
          { name: 'LOG_FORMAT', value: 'json' },
          { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
          { name: 'CPU', valueFrom: { resourceFieldRef: { resource: 'limits.cpu', divisor: '1' } } },
        ]),
    },
    {
      name: 'a database: DATABASE_URL from the <name>-db Secret, after the user env',
      modifiers: [withEnv({ name: 'LOG_FORMAT', value: 'json' }), withDatabase()],
      check: (d) =>
        assert.deepEqual(containerOf(d).env, [
          { name: 'LOG_FORMAT', value: 'json' },
          { name: 'DATABASE_URL', valueFrom: { secretKeyRef: { name: 'orders-db', key: 'DATABASE_URL' } } },
        ]),
    },
    {
      name: 'a database and a DATABASE_URL set by hand: the hand-set one wins, no duplicate',
      modifiers: [withEnv({ name: 'DATABASE_URL', value: 'postgres://elsewhere/db' }), withDatabase()],
      check: (d) => assert.deepEqual(containerOf(d).env, [{ name: 'DATABASE_URL', value: 'postgres://elsewhere/db' }]),
    },
    {
      name: 'resources, numeric quantities as strings',
      modifiers: [withResources({ requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: 1 } })],
      check: (d) =>
        assert.deepEqual(containerOf(d).resources, {
          requests: { cpu: '100m', memory: '128Mi' },
          limits: { cpu: '1' },
        }),
    },
    {
      name: 'probes: port names stay names, numbers stay numbers, timings are kept',
      modifiers: [
        withHttpPort(),
        withProbes({
          readiness: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 5 },
          liveness: { tcpSocket: { port: 8080 }, failureThreshold: 6 },
          startup: { exec: { command: ['/bin/check', '--ready'] }, initialDelaySeconds: 2 },
        }),
      ],
      check: (d) => {
        const c = containerOf(d);
        assert.deepEqual(c.readinessProbe, { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 5 });
        assert.deepEqual(c.livenessProbe, { tcpSocket: { port: 8080 }, failureThreshold: 6 });
        assert.deepEqual(c.startupProbe, { exec: { command: ['/bin/check', '--ready'] }, initialDelaySeconds: 2 });
      },
    },
    {
      name: 'a gRPC probe',
      modifiers: [withProbes({ readiness: { grpc: { port: 9000, service: 'orders' } } })],
      check: (d) => assert.deepEqual(containerOf(d).readinessProbe, { grpc: { port: 9000, service: 'orders' } }),
    },
    {
      name: 'no probes: no probe fields',
      modifiers: [withHttpPort()],
      check: (d) => {
        const c = containerOf(d);
        assert.equal(c.readinessProbe ?? c.livenessProbe ?? c.startupProbe, undefined);
      },
    },
  ];
  for (const c of cases) {
    it(c.name, () => c.check(validChild(buildDeployment(microService('orders', ...c.modifiers)))));
  }

  const invalid: { name: string; modifiers: Modifier[]; reason: string; message: RegExp }[] = [
    {
      name: 'a probe naming a port the service does not have',
      modifiers: [withHttpPort(), withProbes({ liveness: { httpGet: { path: '/', port: 'admin' } } })],
      reason: 'UnknownProbePort',
      message: /liveness probe names port "admin".*\(http\)/,
    },
    {
      name: 'a named probe port on a service without ports',
      modifiers: [withProbes({ readiness: { tcpSocket: { port: 'http' } } })],
      reason: 'UnknownProbePort',
      message: /\(none\)/,
    },
    {
      name: 'two ports on one container port',
      modifiers: [withPorts({ name: 'http', port: 80, targetPort: 8080 }, { name: 'alt', port: 81, targetPort: 8080 })],
      reason: 'DuplicateTargetPort',
      message: /ports http and alt both target container port 8080\/TCP/,
    },
  ];
  for (const c of invalid) {
    it(`rejects ${c.name} with ${c.reason}`, () => {
      assert.throws(
        () => buildDeployment(microService('orders', ...c.modifiers)),
        (error: unknown) =>
          error instanceof InvalidSpecError && error.reason === c.reason && c.message.test(error.message),
      );
    });
  }

  it('one container port may serve TCP and UDP under two names', () => {
    const d = buildDeployment(
      microService('dns', withPorts({ name: 'dns-tcp', port: 53 }, { name: 'dns-udp', port: 53, protocol: 'UDP' })),
    );
    assert.equal(containerOf(d).ports?.length, 2);
  });

  it('does not share objects with the MicroService it was built from', () => {
    const ms = microService('orders', withEnv({ name: 'A', value: '1' }), withResources({ requests: { cpu: '1' } }));
    const d = buildDeployment(ms);
    const c = containerOf(d);
    assert.notEqual(c.env?.[0], ms.spec.env?.[0]);
    assert.notEqual(c.resources?.requests, ms.spec.resources?.requests);
  });
});

describe('computeRevision', () => {
  const template = (...modifiers: Modifier[]) => buildPodTemplate(microService('orders', withHttpPort(), ...modifiers));

  it('is 10 hex characters', () => {
    assert.match(computeRevision(template()), /^[0-9a-f]{10}$/);
  });

  it('is the same for equal templates built twice (nothing time-varying in them)', () => {
    assert.equal(computeRevision(template()), computeRevision(template()));
  });

  it('does not depend on the order of object keys', () => {
    const t = template();
    const reordered = JSON.parse(JSON.stringify({ spec: t.spec, metadata: t.metadata }));
    assert.equal(computeRevision(reordered), computeRevision(t));
  });

  const changes: { name: string; modifier: Modifier }[] = [
    { name: 'the image', modifier: withImage('registry.example.com/shop/orders:2.0.0') },
    { name: 'the env', modifier: withEnv({ name: 'A', value: '1' }) },
    { name: 'the resources', modifier: withResources({ requests: { cpu: '200m' } }) },
    { name: 'a database', modifier: withDatabase() },
    {
      name: 'a restart (spec.restartedAt)',
      modifier: (ms) => {
        ms.spec.restartedAt = '2026-11-30T12:00:00Z';
      },
    },
  ];
  for (const c of changes) {
    it(`changes with ${c.name}`, () => {
      assert.notEqual(computeRevision(template(c.modifier)), computeRevision(template()));
    });
  }

  it('carries spec.restartedAt as the pod annotation flotilla.dev/restartedAt', () => {
    const restarted = template((ms) => {
      ms.spec.restartedAt = '2026-11-30T12:00:00Z';
    });
    assert.equal(restarted.metadata?.annotations?.['flotilla.dev/restartedAt'], '2026-11-30T12:00:00Z');
    assert.equal(template().metadata?.annotations?.['flotilla.dev/restartedAt'], undefined);
  });

  it('does not change with replicas or autoscaling, which are not in the pod template', () => {
    assert.equal(computeRevision(template(withReplicas(7))), computeRevision(template()));
    assert.equal(computeRevision(template(withAutoscaling({ maxReplicas: 9 }))), computeRevision(template()));
  });
});

describe('buildDeployment for one revision', () => {
  const ms = microService('orders', withHttpPort(), withAutoscaling({ maxReplicas: 5 }));
  const revision = computeRevision(buildPodTemplate(ms));

  it('is named <name>-<revision>; it, its selector and its pods carry the revision label', () => {
    const d = validChild(buildDeployment(ms, { revision, replicas: 3 }));
    assert.equal(d.metadata?.name, `orders-${revision}`);
    assert.equal(d.metadata?.labels?.['flotilla.dev/revision'], revision);
    assert.deepEqual(d.spec?.selector.matchLabels, {
      'app.kubernetes.io/name': 'orders',
      'app.kubernetes.io/instance': 'orders',
      'flotilla.dev/revision': revision,
    });
    assert.equal(d.spec?.template.metadata?.labels?.['flotilla.dev/revision'], revision);
    assert.equal(d.spec?.replicas, 3);
  });

  it('keeps the rest of the pod template as computeRevision saw it', () => {
    const d = buildDeployment(ms, { revision });
    const { 'flotilla.dev/revision': _, ...labels } = d.spec?.template.metadata?.labels ?? {};
    const template = { ...d.spec?.template, metadata: { ...d.spec?.template.metadata, labels } };
    assert.equal(computeRevision(template), revision);
  });

  const replicas: { name: string; options: Parameters<typeof buildDeployment>[1]; replicas: number | undefined }[] = [
    { name: 'autoscaled by default when the spec autoscales', options: { revision }, replicas: undefined },
    { name: 'a planned count wins over autoscaling', options: { revision, replicas: 0 }, replicas: 0 },
    { name: "'autoscaled' leaves the field out", options: { replicas: 'autoscaled' }, replicas: undefined },
  ];
  for (const c of replicas) {
    it(`replicas: ${c.name}`, () => {
      assert.equal(buildDeployment(ms, c.options).spec?.replicas, c.replicas);
    });
  }
});
