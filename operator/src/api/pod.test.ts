// What the MicroService schema refuses of the pod surface, with the message the API server gives
// (the same CEL rules run here through ajv; e2e/ shows the API server agree).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { API_VERSION } from './common.ts';
import type { MicroService, MicroServiceSpec } from './microservice.ts';
import { validateMicroService } from './validate.ts';

const withSpec = (fields: Record<string, unknown>): MicroService => ({
  apiVersion: API_VERSION,
  kind: 'MicroService',
  metadata: { name: 'orders', namespace: 'shop' },
  spec: { image: 'registry.example.com/shop/orders:1.4.2', ...fields } as MicroServiceSpec,
});

const errorsOf = (fields: Record<string, unknown>): string[] => {
  const result = validateMicroService(withSpec(fields));
  return result.valid ? [] : result.errors;
};

describe('the pod surface of the MicroService schema', () => {
  it('accepts every field used together', () => {
    assert.deepEqual(
      errorsOf({
        ports: [{ name: 'http', port: 80 }],
        command: ['/app/orders'],
        args: ['serve'],
        workingDir: '/app',
        envFrom: [
          { configMapRef: { name: 'orders-config' } },
          { secretRef: { name: 'orders-keys' }, rollOnChange: false },
        ],
        files: [
          { path: '/etc/orders', configMap: 'orders-config', items: [{ key: 'app.yaml', path: 'conf/app.yaml' }] },
          { path: '/var/run/keys', secret: 'orders-keys', defaultMode: 288 },
        ],
        serviceAccountName: 'orders',
        imagePullSecrets: [{ name: 'registry' }],
        podLabels: { team: 'checkout', 'sidecar.istio.io/inject': 'true' },
        podAnnotations: { 'example.com/cost': '42' },
        scheduling: {
          nodeSelector: { pool: 'general' },
          tolerations: [{ operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 30 }],
          affinity: { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [] } },
          topologySpread: [
            { maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone' },
            { maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'ScheduleAnyway' },
          ],
          priorityClassName: 'shop',
        },
        disruptionBudget: { minAvailable: '50%' },
        lifecycle: { terminationGracePeriodSeconds: 60, preStopSleepSeconds: 15 },
        securityContext: {
          runAsUser: 1000,
          runAsGroup: 0,
          fsGroup: 2000,
          readOnlyRootFilesystem: true,
          runAsNonRoot: true,
        },
        sidecars: [{ name: 'agent', image: 'agent:1', files: ['/etc/orders'] }],
        initContainers: [{ name: 'migrate', image: 'orders:1', command: ['/migrate'] }],
      }),
      [],
    );
  });

  const refusals: { name: string; fields: Record<string, unknown>; error: RegExp }[] = [
    {
      name: 'a files entry with both configMap and secret',
      fields: { files: [{ path: '/etc/a', configMap: 'a', secret: 'b' }] },
      error: /exactly one of configMap, secret/,
    },
    {
      name: 'two files on one path',
      fields: {
        files: [
          { path: '/etc/a', configMap: 'a' },
          { path: '/etc/a', secret: 'b' },
        ],
      },
      error: /no two on one path/,
    },
    {
      name: 'a relative files path',
      fields: { files: [{ path: 'etc/a', configMap: 'a' }] },
      error: /spec\.files\[0\]\.path/,
    },
    {
      name: 'a files path with ..',
      fields: { files: [{ path: '/etc/../root', configMap: 'a' }] },
      error: /\.\. segment/,
    },
    {
      name: 'an item path with ..',
      fields: { files: [{ path: '/etc/a', configMap: 'a', items: [{ key: 'k', path: '../k' }] }] },
      error: /\.\. segment/,
    },
    {
      name: 'a defaultMode above 0777',
      fields: { files: [{ path: '/a', configMap: 'a', defaultMode: 512 }] },
      error: /defaultMode/,
    },
    {
      name: 'an envFrom with neither source',
      fields: { envFrom: [{ prefix: 'A_' }] },
      error: /exactly one of configMapRef, secretRef/,
    },
    {
      name: 'a pod label Flotilla sets',
      fields: { podLabels: { 'app.kubernetes.io/name': 'other' } },
      error: /podLabels must not set app\.kubernetes\.io\/name.*Flotilla sets them/,
    },
    {
      name: 'a flotilla.dev pod annotation',
      fields: { podAnnotations: { 'flotilla.dev/config-hash': 'x' } },
      error: /podAnnotations must not set flotilla\.dev\/\*/,
    },
    {
      name: 'a scrape annotation beside a metrics port',
      fields: { ports: [{ name: 'metrics', port: 9090 }], podAnnotations: { 'prometheus.io/path': '/m' } },
      error: /when a port is named metrics or observability.metrics is set: Flotilla sets them/,
    },
    {
      name: 'a label key that is no qualified name',
      fields: { podLabels: { 'bad key': 'x' } },
      error: /qualified names/,
    },
    {
      name: 'a toleration with Exists and a value',
      fields: { scheduling: { tolerations: [{ key: 'a', operator: 'Exists', value: 'b' }] } },
      error: /operator Exists takes no value/,
    },
    {
      name: 'tolerationSeconds without NoExecute',
      fields: { scheduling: { tolerations: [{ key: 'a', tolerationSeconds: 5 }] } },
      error: /only for effect NoExecute/,
    },
    {
      name: 'one topologyKey twice for one whenUnsatisfiable',
      fields: {
        scheduling: {
          topologySpread: [
            { maxSkew: 1, topologyKey: 'z' },
            { maxSkew: 2, topologyKey: 'z' },
          ],
        },
      },
      error: /topologyKey only once/,
    },
    {
      name: 'a disruption budget with both limits',
      fields: { disruptionBudget: { minAvailable: 1, maxUnavailable: 1 } },
      error: /exactly one of minAvailable, maxUnavailable/,
    },
    { name: 'a budget of 50', fields: { disruptionBudget: { maxUnavailable: '50' } }, error: /percentage such as 25%/ },
    {
      name: 'a preStop sleep as long as the grace period',
      fields: { lifecycle: { preStopSleepSeconds: 30 } },
      error: /preStopSleepSeconds must be shorter than terminationGracePeriodSeconds \(default 30\)/,
    },
    {
      name: 'runAsUser 0',
      fields: { securityContext: { runAsUser: 0 } },
      error: /runAsUser 0 \(root\) breaks the restricted Pod Security Standard \(rule "Running as Non-root user"\)/,
    },
    {
      name: 'runAsNonRoot false',
      fields: { securityContext: { runAsNonRoot: false } },
      error: /restricted Pod Security Standard \(rule "Running as Non-root"\)/,
    },
    {
      name: 'privileged',
      fields: { securityContext: { privileged: true } },
      error: /rule "Privileged Containers"/,
    },
    {
      name: 'privilege escalation',
      fields: { securityContext: { allowPrivilegeEscalation: true } },
      error: /rule "Privilege Escalation"/,
    },
    {
      name: 'a sidecar mounting a file that is not in spec.files',
      fields: { sidecars: [{ name: 'agent', image: 'a:1', files: ['/etc/x'] }] },
      error: /must each be the path of an entry of spec\.files/,
    },
    {
      name: 'a sidecar and an init container of one name',
      fields: { sidecars: [{ name: 'agent', image: 'a:1' }], initContainers: [{ name: 'agent', image: 'a:1' }] },
      error: /names of sidecars and init containers must be unique/,
    },
    {
      name: 'a sidecar named after the service',
      fields: { sidecars: [{ name: 'orders', image: 'a:1' }] },
      error: /may not take the service’s own name/,
    },
    { name: 'a relative workingDir', fields: { workingDir: 'app' }, error: /spec\.workingDir/ },
  ];
  for (const { name, fields, error } of refusals) {
    it(`refuses ${name}`, () => {
      const errors = errorsOf(fields);
      assert.ok(
        errors.some((e) => error.test(e)),
        `${error} in ${JSON.stringify(errors)}`,
      );
    });
  }
});
