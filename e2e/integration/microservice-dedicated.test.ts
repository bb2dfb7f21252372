// A dedicated database through the operator (`flotilla run` as a process) on the real cluster: the Secret
// <name>-db pointing at <name>-db.<namespace>.svc, the StatefulSet, Service and NetworkPolicy <name>-db,
// DatabaseReady once kwok runs the pod, DATABASE_URL in the service's pods, the StatefulSet restored when
// deleted by hand, and the password nowhere in the operator's logs or the MicroService's status.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectToCluster } from '../support/cluster.ts';
import { eventually } from '../support/eventually.ts';
import { ensureNamespace, installCrds } from './api-support.ts';
import {
  conditionOf,
  freshNamespace,
  getJson,
  kubectlApply,
  microServiceManifest,
  type OperatorProcess,
  startOperator,
} from './microservice-support.ts';

const cluster = await connectToCluster();
const namespace = freshNamespace('ms-dedicated');

describe('a dedicated database through the operator', () => {
  let operator: OperatorProcess | undefined;

  before(async () => {
    await installCrds(cluster);
    await ensureNamespace(cluster, namespace);
    operator = await startOperator(cluster, namespace);
  });

  after(async () => {
    operator?.child.kill('SIGTERM');
    await operator?.exited;
    await cluster.kubectl(['delete', 'namespace', namespace, '--ignore-not-found', '--wait=false']);
    await cluster.kubectl(['delete', 'pv', `${namespace}-orders`, '--ignore-not-found', '--wait=false']);
  });

  it('runs the instance, writes its Secret, and turns DatabaseReady True', async () => {
    // This cluster has no volume provisioner: a volume for the claim the StatefulSet will make.
    await kubectlApply(cluster, {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: `${namespace}-orders` },
      spec: {
        capacity: { storage: '2Gi' },
        accessModes: ['ReadWriteOnce'],
        persistentVolumeReclaimPolicy: 'Retain',
        storageClassName: '',
        hostPath: { path: `/tmp/${namespace}` },
        claimRef: { namespace, name: 'data-orders-db-0' },
      },
    });
    await kubectlApply(
      cluster,
      microServiceManifest(namespace, 'orders', {
        image: 'registry.example.com/shop/orders:1.0.0',
        ports: [{ name: 'http', port: 80 }],
        database: { instance: 'dedicated', engine: 'postgres', storage: '2Gi', reclaimPolicy: 'Delete' },
      }),
    );
    await eventually(
      'DatabaseReady',
      async () => {
        const condition = await conditionOf(cluster, namespace, 'orders', 'DatabaseReady');
        assert.equal(condition?.status, 'True', JSON.stringify(condition));
        assert.equal(condition?.reason, 'Provisioned');
      },
      { timeoutMs: 90_000 },
    );

    const secret = await getJson<{ data: Record<string, string> }>(cluster, ['-n', namespace, 'secret', 'orders-db']);
    const data = Object.fromEntries(
      Object.entries(secret.data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]),
    );
    assert.equal(data.host, `orders-db.${namespace}.svc`);
    assert.equal(data.port, '5432');
    assert.match(
      data.DATABASE_URL ?? '',
      new RegExp(`^postgresql://[a-z0-9_]+:[^@]+@orders-db\\.${namespace}\\.svc:5432/`),
    );
    const password = data.password ?? '';
    assert.ok(password.length >= 32);

    const set = await getJson<{ spec: { template: { spec: { containers: { env: { name: string }[] }[] } } } }>(
      cluster,
      ['-n', namespace, 'statefulset', 'orders-db'],
    );
    assert.deepEqual(
      set.spec.template.spec.containers[0]?.env.map((e) => e.name),
      ['POSTGRES_USER', 'POSTGRES_PASSWORD', 'POSTGRES_DB', 'PGDATA'],
    );
    await getJson(cluster, ['-n', namespace, 'service', 'orders-db']);
    await getJson(cluster, ['-n', namespace, 'networkpolicy', 'orders-db']);

    const deployments = await getJson<{
      items: { spec: { template: { spec: { containers: { env?: { name: string }[] }[] } } } }[];
    }>(cluster, ['-n', namespace, 'deployments', '-l', 'app.kubernetes.io/name=orders']);
    const env = deployments.items[0]?.spec.template.spec.containers[0]?.env?.map((e) => e.name) ?? [];
    assert.ok(env.includes('DATABASE_URL'), `DATABASE_URL among ${env.join(', ')}`);

    const ms = await cluster.kubectl(['-n', namespace, 'get', 'microservice', 'orders', '-o', 'json']);
    const events = await cluster.kubectl(['-n', namespace, 'get', 'events', '-o', 'json']);
    for (const [where, text] of [
      ['the MicroService', ms],
      ['the Events', events],
      ['the operator log', operator?.raw.join('\n') ?? ''],
    ] as const) {
      assert.ok(!text.includes(password), `the password is in ${where}`);
    }
  });

  it('restores the StatefulSet when someone deletes it', async () => {
    const before = await getJson<{ metadata: { uid: string } }>(cluster, ['-n', namespace, 'statefulset', 'orders-db']);
    await cluster.kubectl(['-n', namespace, 'delete', 'statefulset', 'orders-db', '--wait=true']);
    await eventually(
      'the StatefulSet back',
      async () => {
        const again = await getJson<{ metadata: { uid: string } }>(cluster, [
          '-n',
          namespace,
          'statefulset',
          'orders-db',
        ]);
        assert.notEqual(again.metadata.uid, before.metadata.uid);
      },
      { timeoutMs: 60_000 },
    );
  });
});
