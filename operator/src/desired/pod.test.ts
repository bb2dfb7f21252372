import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1PodTemplateSpec } from '@kubernetes/client-node';
import type { MicroServiceSpec } from '../api/microservice.ts';
import { buildDeployment, buildPodTemplate, CONFIG_HASH_ANNOTATION, computeRevision } from './deployment.ts';
import { InvalidSpecError } from './errors.ts';
import { microService, validChild, withHttpPort, withPorts, withSpec } from './testing.ts';

const RESTRICTED = {
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] },
  runAsNonRoot: true,
  seccompProfile: { type: 'RuntimeDefault' },
};
const SELECTOR = { 'app.kubernetes.io/name': 'orders', 'app.kubernetes.io/instance': 'orders' };

const templateOf = (fields: Partial<MicroServiceSpec>): V1PodTemplateSpec => {
  const ms = microService('orders', withHttpPort(), withSpec(fields));
  // Every template must also make a Deployment that Kubernetes' own schema accepts.
  validChild(buildDeployment(ms));
  return buildPodTemplate(ms);
};
const containerOf = (template: V1PodTemplateSpec) => template.spec?.containers[0];

describe('buildPodTemplate: the pod surface', () => {
  const cases: { name: string; fields: Partial<MicroServiceSpec>; check: (t: V1PodTemplateSpec) => void }[] = [
    {
      name: 'command, args and workingDir go to the service container',
      fields: { command: ['/app/orders'], args: ['serve', '--port=8080'], workingDir: '/app' },
      check: (t) => {
        const c = containerOf(t);
        assert.deepEqual([c?.command, c?.args, c?.workingDir], [['/app/orders'], ['serve', '--port=8080'], '/app']);
      },
    },
    {
      name: 'envFrom loses rollOnChange, which is Flotilla’s',
      fields: {
        envFrom: [
          { configMapRef: { name: 'orders-config' }, prefix: 'APP_' },
          { secretRef: { name: 'orders-keys', optional: true }, rollOnChange: false },
        ],
      },
      check: (t) =>
        assert.deepEqual(containerOf(t)?.envFrom, [
          { configMapRef: { name: 'orders-config' }, prefix: 'APP_' },
          { secretRef: { name: 'orders-keys', optional: true } },
        ]),
    },
    {
      name: 'files become volumes mounted read-only at their paths',
      fields: {
        files: [
          { path: '/etc/orders', configMap: 'orders-config' },
          {
            path: '/var/run/keys',
            secret: 'orders-keys',
            items: [{ key: 'tls.key', path: 'key.pem' }],
            defaultMode: 0o440,
            rollOnChange: false,
          },
        ],
      },
      check: (t) => {
        assert.deepEqual(containerOf(t)?.volumeMounts, [
          { name: 'files-0', mountPath: '/etc/orders', readOnly: true },
          { name: 'files-1', mountPath: '/var/run/keys', readOnly: true },
        ]);
        assert.deepEqual(t.spec?.volumes, [
          { name: 'files-0', configMap: { name: 'orders-config' } },
          {
            name: 'files-1',
            secret: { secretName: 'orders-keys', items: [{ key: 'tls.key', path: 'key.pem' }], defaultMode: 288 },
          },
        ]);
      },
    },
    {
      name: 'service account and pull secrets',
      fields: { serviceAccountName: 'orders', imagePullSecrets: [{ name: 'registry-example-com' }] },
      check: (t) => {
        assert.equal(t.spec?.serviceAccountName, 'orders');
        assert.deepEqual(t.spec?.imagePullSecrets, [{ name: 'registry-example-com' }]);
      },
    },
    {
      name: 'pod labels and annotations beside Flotilla’s own',
      fields: {
        podLabels: { team: 'checkout', 'sidecar.istio.io/inject': 'true' },
        podAnnotations: { 'cost-centre': '42' },
      },
      check: (t) => {
        assert.deepEqual(t.metadata?.labels, {
          team: 'checkout',
          'sidecar.istio.io/inject': 'true',
          ...SELECTOR,
          'app.kubernetes.io/managed-by': 'flotilla',
        });
        assert.deepEqual(t.metadata?.annotations, { 'cost-centre': '42' });
      },
    },
    {
      name: 'scheduling: node selector, tolerations, affinity, priority, and spread with the service’s selector',
      fields: {
        scheduling: {
          nodeSelector: { 'kubernetes.io/os': 'linux' },
          tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'shop', effect: 'NoSchedule' }],
          affinity: {
            nodeAffinity: {
              requiredDuringSchedulingIgnoredDuringExecution: {
                nodeSelectorTerms: [{ matchExpressions: [{ key: 'pool', operator: 'In', values: ['general'] }] }],
              },
            },
          },
          topologySpread: [{ maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone' }],
          priorityClassName: 'shop-critical',
        },
      },
      check: (t) => {
        assert.deepEqual(t.spec?.nodeSelector, { 'kubernetes.io/os': 'linux' });
        assert.deepEqual(t.spec?.tolerations, [
          { key: 'dedicated', operator: 'Equal', value: 'shop', effect: 'NoSchedule' },
        ]);
        assert.ok(t.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution);
        assert.deepEqual(t.spec?.topologySpreadConstraints, [
          {
            maxSkew: 1,
            topologyKey: 'topology.kubernetes.io/zone',
            whenUnsatisfiable: 'DoNotSchedule',
            labelSelector: { matchLabels: SELECTOR },
          },
        ]);
        assert.equal(t.spec?.priorityClassName, 'shop-critical');
      },
    },
    {
      name: 'lifecycle: the grace period and a preStop sleep',
      fields: { lifecycle: { terminationGracePeriodSeconds: 45, preStopSleepSeconds: 10 } },
      check: (t) => {
        assert.equal(t.spec?.terminationGracePeriodSeconds, 45);
        assert.deepEqual(containerOf(t)?.lifecycle, { preStop: { sleep: { seconds: 10 } } });
      },
    },
    {
      name: 'securityContext: user, group, fsGroup and a read-only root within the restricted standard',
      fields: { securityContext: { runAsUser: 1000, runAsGroup: 1000, fsGroup: 2000, readOnlyRootFilesystem: true } },
      check: (t) => {
        assert.deepEqual(t.spec?.securityContext, {
          runAsNonRoot: true,
          seccompProfile: { type: 'RuntimeDefault' },
          runAsUser: 1000,
          runAsGroup: 1000,
          fsGroup: 2000,
        });
        assert.deepEqual(containerOf(t)?.securityContext, { ...RESTRICTED, readOnlyRootFilesystem: true });
      },
    },
    {
      name: 'sidecars run as native sidecars before the init containers, restricted, with the files they name',
      fields: {
        files: [{ path: '/etc/orders', configMap: 'orders-config' }],
        sidecars: [
          {
            name: 'agent',
            image: 'registry.example.com/agent:1',
            args: ['--config=/etc/orders/agent.yaml'],
            ports: [{ name: 'agent', containerPort: 9000 }],
            resources: { requests: { cpu: '10m' } },
            files: ['/etc/orders'],
          },
        ],
        initContainers: [
          {
            name: 'migrate',
            image: 'registry.example.com/shop/orders:1.0.0',
            command: ['/app/migrate'],
            env: [{ name: 'A', value: '1' }],
          },
        ],
      },
      check: (t) =>
        assert.deepEqual(t.spec?.initContainers, [
          {
            name: 'agent',
            image: 'registry.example.com/agent:1',
            args: ['--config=/etc/orders/agent.yaml'],
            ports: [{ name: 'agent', containerPort: 9000 }],
            resources: { requests: { cpu: '10m' } },
            volumeMounts: [{ name: 'files-0', mountPath: '/etc/orders', readOnly: true }],
            securityContext: RESTRICTED,
            restartPolicy: 'Always',
          },
          {
            name: 'migrate',
            image: 'registry.example.com/shop/orders:1.0.0',
            command: ['/app/migrate'],
            env: [{ name: 'A', value: '1' }],
            securityContext: RESTRICTED,
          },
        ]),
    },
  ];
  for (const { name, fields, check } of cases) it(name, () => check(templateOf(fields)));

  it('keeps the template, and so the revision, of a service that sets none of the new fields', () => {
    const ms = microService('orders', withHttpPort());
    const template = buildPodTemplate(ms);
    assert.deepEqual(Object.keys(template.spec ?? {}).sort(), ['containers', 'securityContext']);
    assert.deepEqual(Object.keys(template.metadata ?? {}), ['labels']);
    assert.equal(computeRevision(template), computeRevision(buildPodTemplate(microService('orders', withHttpPort()))));
  });

  it('keeps Flotilla’s own annotations over the user’s', () => {
    const ms = microService(
      'orders',
      withPorts({ name: 'metrics', port: 9090 }),
      withSpec({ podAnnotations: { 'prometheus.io/path': '/other' } }),
    );
    assert.equal(buildPodTemplate(ms).metadata?.annotations?.['prometheus.io/path'], '/metrics');
  });

  it('puts the config hash in the template, so that a config change is a new revision', () => {
    const ms = microService('orders', withHttpPort());
    const a = buildPodTemplate(ms, { configHash: 'aaa' });
    const b = buildPodTemplate(ms, { configHash: 'bbb' });
    assert.equal(a.metadata?.annotations?.[CONFIG_HASH_ANNOTATION], 'aaa');
    assert.notEqual(computeRevision(a), computeRevision(b));
  });

  it('refuses a sidecar file that is not an entry of spec.files', () => {
    const ms = microService(
      'orders',
      withSpec({ sidecars: [{ name: 'agent', image: 'agent:1', files: ['/etc/missing'] }] }),
    );
    assert.throws(
      () => buildPodTemplate(ms),
      (error: unknown) => error instanceof InvalidSpecError && error.reason === 'UnknownFile',
    );
  });
});
