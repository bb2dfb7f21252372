// The pod surface and config releases against the real API server, with the operator as a process
// (`node operator/src/main.ts run`): a MicroService using every pod field is accepted and its
// Deployment passes admission in a namespace that enforces the restricted Pod Security Standard; a
// ConfigMap edit rolls a plain service, and is released as a canary through a Rollout (abort keeps
// the old config); a Secret that appears later turns ConfigReady True; a hand-edited
// PodDisruptionBudget is repaired.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectToCluster } from '../support/cluster.ts';
import { eventually } from '../support/eventually.ts';
import { ensureNamespace, installCrds, kubectlFails } from './api-support.ts';
import {
  conditionOf,
  eventsFor,
  exists,
  freshNamespace,
  getJson,
  kubectlApply,
  microServiceManifest,
  type OperatorProcess,
  projectCrds,
  startOperator,
  waitEstablished,
} from './microservice-support.ts';

const cluster = await connectToCluster();
const namespace = freshNamespace('ms-podsurface');
const CONFIG_HASH = 'flotilla.dev/config-hash';
const TELEMETRY_CRD = 'telemetries.telemetry.istio.io';
const OTLP_ENDPOINT = 'http://otel-collector.observability:4317';

/** Istio's own Telemetry CRD, from the Istio CRDs `npm start` fetches (istio.io/api). */
const telemetryCrd = (): object => projectCrds('istio.io/api', [TELEMETRY_CRD]).crds[0] as object;

interface DeploymentJson {
  metadata: { name: string; labels?: Record<string, string> };
  spec: {
    replicas?: number;
    template: { metadata: { annotations?: Record<string, string>; labels?: Record<string, string> }; spec: object };
  };
  status?: { readyReplicas?: number };
}
interface RolloutJson {
  spec: { abort?: boolean };
  status?: { phase?: string; stableRevision?: string; canaryRevision?: string };
}

const kubectl = (...args: string[]) => cluster.kubectl(['-n', namespace, ...args]);
const deploymentsOf = async (service: string): Promise<DeploymentJson[]> =>
  (
    await getJson<{ items: DeploymentJson[] }>(cluster, [
      '-n',
      namespace,
      'deployments',
      '-l',
      `app.kubernetes.io/name=${service}`,
    ])
  ).items;
const configHashOf = (d: DeploymentJson | undefined) => d?.spec.template.metadata.annotations?.[CONFIG_HASH];
const configMap = (name: string, data: Record<string, string>) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace },
  data,
});
const service = (name: string, spec: Record<string, unknown>) =>
  microServiceManifest(namespace, name, {
    image: `registry.example.com/shop/${name}:1.0.0`,
    ports: [{ name: 'http', port: 80, targetPort: 8080 }],
    ...spec,
  });
const waitReady = (name: string) => kubectl('wait', `microservice/${name}`, '--for=condition=Ready', '--timeout=60s');

/** Every new field of the pod surface at once. */
const EVERY_FIELD = {
  replicas: 2,
  command: ['/app/orders'],
  args: ['serve', '--port=8080'],
  workingDir: '/app',
  env: [{ name: 'KEY', valueFrom: { secretKeyRef: { name: 'every-keys', key: 'key' } } }],
  envFrom: [{ configMapRef: { name: 'every-config' }, prefix: 'APP_' }],
  files: [
    { path: '/etc/orders', configMap: 'every-config', items: [{ key: 'app.yaml', path: 'app.yaml' }] },
    { path: '/var/run/keys', secret: 'every-keys', defaultMode: 288, rollOnChange: false },
  ],
  serviceAccountName: 'default',
  imagePullSecrets: [{ name: 'registry-example-com' }],
  podLabels: { team: 'checkout' },
  podAnnotations: { 'example.com/cost-centre': '42' },
  scheduling: {
    nodeSelector: { 'kubernetes.io/os': 'linux' },
    tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'shop', effect: 'NoSchedule' }],
    affinity: {
      podAntiAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [
          {
            weight: 100,
            podAffinityTerm: {
              topologyKey: 'kubernetes.io/hostname',
              labelSelector: { matchLabels: { 'app.kubernetes.io/name': 'every' } },
            },
          },
        ],
      },
    },
    topologySpread: [{ maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway' }],
  },
  disruptionBudget: { minAvailable: 1 },
  lifecycle: { terminationGracePeriodSeconds: 40, preStopSleepSeconds: 5 },
  securityContext: { runAsUser: 1000, runAsGroup: 1000, fsGroup: 2000, readOnlyRootFilesystem: true },
  sidecars: [
    {
      name: 'agent',
      image: 'registry.example.com/agent:1.0.0',
      args: ['--config=/etc/orders/app.yaml'],
      ports: [{ name: 'agent', containerPort: 9000 }],
      resources: { requests: { cpu: '10m', memory: '16Mi' } },
      files: ['/etc/orders'],
    },
  ],
  initContainers: [{ name: 'migrate', image: 'registry.example.com/shop/every:1.0.0', command: ['/app/migrate'] }],
};

describe('the pod surface and config releases, with the operator as a process', { timeout: 600_000 }, () => {
  let operator: OperatorProcess | undefined;
  let telemetryCrdWasThere = true;
  before(async () => {
    await installCrds(cluster);
    await ensureNamespace(cluster, namespace);
    // The restricted Pod Security Standard, enforced on pods and warned about on their templates.
    await kubectl(
      'label',
      'namespace',
      namespace,
      'pod-security.kubernetes.io/enforce=restricted',
      'pod-security.kubernetes.io/warn=restricted',
      '--overwrite',
    );
    // Istio's Telemetry kind alone (no VirtualService, so services keep plain routing), as Istio ships it.
    telemetryCrdWasThere = await exists(cluster, ['crd', TELEMETRY_CRD]);
    await cluster.kubectl(['apply', '--server-side', '--force-conflicts', '-f', '-'], {
      input: JSON.stringify(telemetryCrd()),
    });
    await waitEstablished(cluster, [TELEMETRY_CRD]);
    operator = await startOperator(cluster, namespace, { args: ['--otlp-endpoint', OTLP_ENDPOINT] });
  });
  after(async () => {
    operator?.child.kill('SIGKILL');
    await cluster.kubectl(['delete', 'namespace', namespace, '--wait=false', '--ignore-not-found']);
    if (!telemetryCrdWasThere) await cluster.kubectl(['delete', 'crd', TELEMETRY_CRD, '--ignore-not-found']);
  });

  it('accepts a MicroService using every new field; its Deployment and pods pass the restricted standard', async () => {
    await kubectlApply(cluster, configMap('every-config', { 'app.yaml': 'level: info\n' }));
    await kubectl('create', 'secret', 'generic', 'every-keys', '--from-literal=key=s3cret-value');
    await kubectlApply(cluster, service('every', EVERY_FIELD));
    let deployment: DeploymentJson | undefined;
    await eventually(
      'the Deployment',
      async () => {
        [deployment] = await deploymentsOf('every');
        assert.ok(deployment);
      },
      { timeoutMs: 30_000 },
    );
    // The Deployment, under another name, passes a server-side dry run with no Pod Security warning.
    const copy = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'every-dry-run', namespace },
      spec: deployment?.spec,
    };
    await cluster.kubectl(['create', '--dry-run=server', '--warnings-as-errors', '-f', '-'], {
      input: JSON.stringify(copy),
    });
    // A Pod of the template, as the ReplicaSet controller would create it, is admitted by Pod Security.
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'every-dry-run', namespace, labels: deployment?.spec.template.metadata.labels },
      spec: deployment?.spec.template.spec,
    };
    await cluster.kubectl(['create', '--dry-run=server', '--warnings-as-errors', '-f', '-'], {
      input: JSON.stringify(pod),
    });
    await eventually(
      'the ReplicaSet made its pods',
      async () => {
        const pods = await getJson<{ items: unknown[] }>(cluster, [
          '-n',
          namespace,
          'pods',
          '-l',
          'app.kubernetes.io/name=every',
        ]);
        assert.equal(pods.items.length, 2);
      },
      { timeoutMs: 30_000 },
    );
    const pdb = await getJson<{ spec: { minAvailable?: number } }>(cluster, ['-n', namespace, 'pdb', 'every']);
    assert.equal(pdb.spec.minAvailable, 1);
    assert.equal((await conditionOf(cluster, namespace, 'every', 'ConfigReady'))?.status, 'True');
  });

  it('refuses at admission what would break the restricted standard, naming the rule', async () => {
    const stderr = await kubectlFails(cluster, ['apply', '-f', '-'], {
      input: JSON.stringify(service('root', { securityContext: { runAsUser: 0 } })),
    });
    assert.match(
      stderr,
      /runAsUser 0 \(root\) breaks the restricted Pod Security Standard \(rule "Running as Non-root user"\)/,
    );
  });

  it('a ConfigMap edit rolls the pods of a plain service', async () => {
    // Given a service that reads a ConfigMap through envFrom, Ready
    await kubectlApply(cluster, configMap('plain-config', { LEVEL: 'info' }));
    await kubectlApply(cluster, service('plain', { envFrom: [{ configMapRef: { name: 'plain-config' } }] }));
    await waitReady('plain');
    const [before] = await deploymentsOf('plain');
    assert.ok(configHashOf(before), 'the pod template carries the config hash');
    // When the ConfigMap is edited
    await kubectlApply(cluster, configMap('plain-config', { LEVEL: 'debug' }));
    // Then the pod template changes (a new ReplicaSet, new pods), and the service is Ready again
    await eventually('a new config hash', async () => {
      const [after] = await deploymentsOf('plain');
      assert.notEqual(configHashOf(after), configHashOf(before));
    });
    await eventually(
      'new pods of the new template, Ready',
      async () => {
        const hash = configHashOf((await deploymentsOf('plain'))[0]);
        const pods = await getJson<{ items: { metadata: { annotations?: Record<string, string> } }[] }>(cluster, [
          '-n',
          namespace,
          'pods',
          '-l',
          'app.kubernetes.io/name=plain',
        ]);
        assert.ok(pods.items.length > 0);
        assert.ok(pods.items.every((pod) => pod.metadata.annotations?.[CONFIG_HASH] === hash));
        assert.equal((await conditionOf(cluster, namespace, 'plain', 'Ready'))?.status, 'True');
      },
      { timeoutMs: 60_000 },
    );
    // And a key nobody reads, or data under rollOnChange: false, changes nothing
    await kubectlApply(
      cluster,
      service('plain', {
        envFrom: [
          { configMapRef: { name: 'plain-config' } },
          { configMapRef: { name: 'plain-flags' }, rollOnChange: false },
        ],
      }),
    );
    await kubectlApply(cluster, configMap('plain-flags', { FEATURE: 'on' }));
    await waitReady('plain');
    const settled = configHashOf((await deploymentsOf('plain'))[0]);
    await kubectlApply(cluster, configMap('plain-flags', { FEATURE: 'off' }));
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    assert.equal(configHashOf((await deploymentsOf('plain'))[0]), settled);
  });

  it('a Secret referenced by envFrom that appears later turns ConfigReady True', async () => {
    // Given a service whose envFrom Secret does not exist
    await kubectlApply(cluster, service('late', { envFrom: [{ secretRef: { name: 'late-keys' } }] }));
    // Then ConfigReady is False, ConfigNotFound, with a Warning Event; the operator does not crash-loop
    await eventually('ConfigNotFound', async () => {
      const condition = await conditionOf(cluster, namespace, 'late', 'ConfigReady');
      assert.deepEqual([condition?.status, condition?.reason], ['False', 'ConfigNotFound']);
      assert.match(condition?.message ?? '', /Secret\/late-keys does not exist/);
      const [event] = await eventsFor(cluster, namespace, 'late', 'ConfigNotFound');
      assert.equal(event?.type, 'Warning');
      // The Event names the reconcile that recorded it, and that reconcile's log lines carry the same id.
      const reconcileId = /\(reconcile ([0-9a-f-]{36})\)$/.exec(event?.message ?? '')?.[1];
      assert.ok(reconcileId, `the Event names its reconcile: ${event?.message}`);
      assert.ok(operator?.lines.some((line) => line.reconcileId === reconcileId && line.name === 'late'));
    });
    // When the Secret is created
    await kubectl('create', 'secret', 'generic', 'late-keys', '--from-literal=TOKEN=s3cret-token');
    // Then ConfigReady turns True
    await eventually('ConfigReady True', async () => {
      assert.equal((await conditionOf(cluster, namespace, 'late', 'ConfigReady'))?.status, 'True');
    });
    assert.ok(!operator?.raw.some((line) => line.includes('s3cret')), 'no Secret value in the logs');
  });

  it('a hand edit of the PodDisruptionBudget is repaired; one replica has none', async () => {
    await kubectlApply(cluster, service('budget', { replicas: 3 }));
    const maxUnavailable = async () =>
      (await getJson<{ spec: { maxUnavailable?: number } }>(cluster, ['-n', namespace, 'pdb', 'budget'])).spec
        .maxUnavailable;
    await eventually('the default budget', async () => assert.equal(await maxUnavailable(), 1));
    await kubectl('patch', 'pdb', 'budget', '--type', 'merge', '-p', JSON.stringify({ spec: { maxUnavailable: 0 } }));
    await eventually('repaired', async () => assert.equal(await maxUnavailable(), 1));
    const [repaired] = await eventsFor(cluster, namespace, 'budget', 'DriftRepaired');
    assert.match(repaired?.message ?? '', /PodDisruptionBudget\/budget/);
    await kubectlApply(cluster, service('budget', { replicas: 1 }));
    await eventually('no budget for one replica', async () => {
      const left = await getJson<{ items: unknown[] }>(cluster, [
        '-n',
        namespace,
        'pdb',
        '-l',
        'app.kubernetes.io/name=budget',
      ]);
      assert.equal(left.items.length, 0);
    });
  });

  it('a config change is released as a canary through the Rollout; abort keeps the old config', async () => {
    // Given a service with a canary Rollout, Ready, reading a ConfigMap
    await kubectlApply(cluster, configMap('canary-config', { LEVEL: 'info' }));
    await kubectlApply(
      cluster,
      service('shop', { replicas: 4, envFrom: [{ configMapRef: { name: 'canary-config' } }] }),
    );
    await kubectlApply(cluster, {
      apiVersion: 'flotilla.dev/v1alpha1',
      kind: 'Rollout',
      metadata: { name: 'shop', namespace },
      spec: {
        serviceRef: { name: 'shop' },
        strategy: {
          canary: { steps: [{ setWeight: 25 }, { pause: {} }], trafficRouting: 'replicas', scaleDownDelaySeconds: 1 },
        },
      },
    });
    await kubectl('wait', 'rollout.flotilla.dev/shop', '--for=condition=Ready', '--timeout=90s');
    const rolloutOf = () => getJson<RolloutJson>(cluster, ['-n', namespace, 'rollout.flotilla.dev', 'shop']);
    const stable = (await rolloutOf()).status?.stableRevision;
    const stableHash = configHashOf(
      (await deploymentsOf('shop')).find((d) => d.metadata.labels?.['flotilla.dev/revision'] === stable),
    );
    assert.ok(stableHash);
    // When the ConfigMap is edited
    await kubectlApply(cluster, configMap('canary-config', { LEVEL: 'debug' }));
    // Then a canary of the new config pauses at its first step, beside the stable revision
    await kubectl('wait', 'rollout.flotilla.dev/shop', '--for=condition=Paused', '--timeout=90s');
    const canary = (await rolloutOf()).status?.canaryRevision;
    assert.ok(canary && canary !== stable);
    const canaryHash = configHashOf(
      (await deploymentsOf('shop')).find((d) => d.metadata.labels?.['flotilla.dev/revision'] === canary),
    );
    assert.ok(canaryHash && canaryHash !== stableHash, 'the canary carries the new config hash');
    // When aborted
    await kubectl(
      'patch',
      'rollout.flotilla.dev',
      'shop',
      '--type',
      'merge',
      '-p',
      JSON.stringify({ spec: { abort: true } }),
    );
    // Then every pod that is left runs the stable revision and its old config hash
    await kubectl('wait', 'rollout.flotilla.dev/shop', '--for=condition=Aborted', '--timeout=60s');
    await eventually(
      'only the stable revision runs',
      async () => {
        const running = (await deploymentsOf('shop')).filter((d) => (d.spec.replicas ?? 0) > 0);
        assert.deepEqual(
          running.map((d) => [d.metadata.labels?.['flotilla.dev/revision'], configHashOf(d)]),
          [[stable, stableHash]],
        );
      },
      { timeoutMs: 30_000 },
    );
  });

  it('tracing: OTEL_* from the operator’s --otlp-endpoint, and an Istio Telemetry with the sampling', async () => {
    await kubectlApply(cluster, service('traced', { observability: { tracing: { sampling: 20 } } }));
    await eventually('the Telemetry and the env', async () => {
      const telemetry = await getJson<{ spec: { tracing: { randomSamplingPercentage: number }[] } }>(cluster, [
        '-n',
        namespace,
        'telemetries.telemetry.istio.io',
        'traced-tracing',
      ]);
      assert.equal(telemetry.spec.tracing[0]?.randomSamplingPercentage, 20);
      const [deployment] = await deploymentsOf('traced');
      assert.ok(deployment, 'the Deployment of traced');
      const { containers } = deployment.spec.template.spec as {
        containers: { env?: { name: string; value?: string }[] }[];
      };
      const env = containers[0]?.env;
      const value = (name: string) => env?.find((e) => e.name === name)?.value;
      assert.equal(value('OTEL_EXPORTER_OTLP_ENDPOINT'), OTLP_ENDPOINT);
      assert.equal(value('OTEL_SERVICE_NAME'), 'traced');
      assert.equal(value('OTEL_TRACES_SAMPLER_ARG'), '0.2');
      assert.match(value('OTEL_RESOURCE_ATTRIBUTES') ?? '', new RegExp(`service.namespace=${namespace},`));
    });
    // Tracing off: the Telemetry goes
    await kubectlApply(cluster, service('traced', {}));
    await eventually('the Telemetry is deleted', async () => {
      assert.equal(await exists(cluster, ['-n', namespace, 'telemetries.telemetry.istio.io', 'traced-tracing']), false);
    });
  });
});
