// A dedicated database at the API level: the real API server accepts the StatefulSet, Service and
// NetworkPolicy the builders make; the StatefulSet controller makes the pod and its volume claim; kwok runs
// the pod and its readiness shows; owner references let the MicroService's deletion take them all, and the
// claim goes or stays as reclaimPolicy says. (kwok runs no image: the database server itself is not run.)
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { API_VERSION, type MicroService } from '../../operator/src/api/index.ts';
import { buildDatabaseSecretData, generatePassword } from '../../operator/src/database/index.ts';
import { buildDedicatedDatabase, dedicatedDatabaseAddress } from '../../operator/src/desired/dedicated-database.ts';
import { databaseSecretName } from '../../operator/src/desired/meta.ts';
import { connectToCluster } from '../support/cluster.ts';
import { ensureNamespace, installCrds } from './api-support.ts';

const cluster = await connectToCluster();
const suffix = randomBytes(4).toString('hex');
const namespace = `dedicated-db-${suffix}`;

type Json = Record<string, unknown>;

async function getJson(kind: string, name: string): Promise<Json> {
  return JSON.parse(await cluster.kubectl(['get', kind, name, '-n', namespace, '-o', 'json'])) as Json;
}

async function exists(kind: string, name: string, ns: string | undefined = namespace): Promise<boolean> {
  const out = await cluster.kubectl(['get', kind, name, ...(ns ? ['-n', ns] : []), '--ignore-not-found', '-o', 'name']);
  return out.trim() !== '';
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** A MicroService with a dedicated database, created for real so that its children can name it as owner. */
async function createMicroService(name: string, database: Json): Promise<MicroService> {
  const manifest = {
    apiVersion: API_VERSION,
    kind: 'MicroService',
    metadata: { name, namespace },
    spec: { image: 'registry.example.com/shop/orders:1.0.0', ports: [{ name: 'http', port: 80 }], database },
  };
  await cluster.kubectl(['create', '-f', '-'], { input: JSON.stringify(manifest) });
  const created = JSON.parse(
    await cluster.kubectl(['get', 'microservice.flotilla.dev', name, '-n', namespace, '-o', 'json']),
  ) as MicroService;
  assert.ok(created.metadata.uid);
  return created;
}

/** The Secret `<name>-db` the database step writes first; its host is the dedicated Service. */
function secretFor(ms: MicroService): Json {
  const address = dedicatedDatabaseAddress(ms);
  assert.ok(address);
  const name = ms.metadata.name as string;
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: databaseSecretName(name), namespace },
    type: 'Opaque',
    stringData: buildDatabaseSecretData({
      ...address,
      database: `${namespace}_${name}`.replaceAll('-', '_'),
      username: name.replaceAll('-', '_'),
      password: generatePassword(),
    }),
  };
}

async function applyServerSide(objects: unknown[], dryRun = false): Promise<string> {
  return cluster.kubectl(
    ['apply', '--server-side', '--field-manager=flotilla', ...(dryRun ? ['--dry-run=server'] : []), '-f', '-'],
    { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }) },
  );
}

/** A volume for the claim the StatefulSet will make: this cluster has no provisioner. */
function volumeFor(claim: string, storage: string): Json {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name: `${namespace}-${claim}`, labels: { 'flotilla.dev/test': namespace } },
    spec: {
      capacity: { storage },
      accessModes: ['ReadWriteOnce'],
      persistentVolumeReclaimPolicy: 'Retain',
      storageClassName: '',
      hostPath: { path: `/tmp/${namespace}/${claim}` },
      claimRef: { namespace, name: claim },
    },
  };
}

describe('a dedicated database on the real API server', () => {
  before(async () => {
    await installCrds(cluster);
    await ensureNamespace(cluster, namespace);
  });

  after(async () => {
    await cluster.kubectl(['delete', 'namespace', namespace, '--ignore-not-found', '--wait=false']);
    await cluster.kubectl([
      'delete',
      'pv',
      '-l',
      `flotilla.dev/test=${namespace}`,
      '--ignore-not-found',
      '--wait=false',
    ]);
  });

  it('accepts the children of a postgres and a mysql instance (server-side dry run)', async () => {
    for (const engine of ['postgres', 'mysql']) {
      const ms = await createMicroService(`dry-${engine}`, { instance: 'dedicated', engine, storage: '2Gi' });
      const out = await applyServerSide([secretFor(ms), ...buildDedicatedDatabase(ms)], true);
      assert.match(out, /statefulset\.apps\/dry-\w+-db serverside-applied \(server dry run\)/);
      assert.match(out, /service\/dry-\w+-db serverside-applied/);
      assert.match(out, /networkpolicy\.networking\.k8s\.io\/dry-\w+-db serverside-applied/);
    }
  });

  it('runs the instance: a ready pod on its own claim; reapplying changes nothing', async () => {
    const ms = await createMicroService('orders', { instance: 'dedicated', engine: 'postgres', storage: '3Gi' });
    await cluster.kubectl(['apply', '-f', '-'], { input: JSON.stringify(volumeFor('data-orders-db-0', '3Gi')) });
    await applyServerSide([secretFor(ms), ...buildDedicatedDatabase(ms)]);

    await waitFor('the claim data-orders-db-0', () => exists('pvc', 'data-orders-db-0'));
    const claim = await getJson('pvc', 'data-orders-db-0');
    const claimSpec = claim.spec as { resources: { requests: { storage: string } } };
    assert.equal(claimSpec.resources.requests.storage, '3Gi');

    await waitFor('the pod orders-db-0 to be ready', async () => {
      const set = await getJson('statefulset', 'orders-db');
      return (set.status as { readyReplicas?: number } | undefined)?.readyReplicas === 1;
    });
    const pod = await getJson('pod', 'orders-db-0');
    const labels = (pod.metadata as { labels: Record<string, string> }).labels;
    assert.equal(labels['app.kubernetes.io/instance'], 'orders-db');
    assert.equal(labels['app.kubernetes.io/name'], 'postgresql');
    // The service's own Service (selector name=orders, instance=orders) must not pick the database's pod.
    const servicePods = await cluster.kubectl([
      'get',
      'pods',
      '-n',
      namespace,
      '-l',
      'app.kubernetes.io/name=orders,app.kubernetes.io/instance=orders',
      '-o',
      'name',
    ]);
    assert.equal(servicePods.trim(), '');

    const before = (await getJson('statefulset', 'orders-db')).metadata as { generation: number };
    await applyServerSide(buildDedicatedDatabase(ms));
    const afterApply = (await getJson('statefulset', 'orders-db')).metadata as { generation: number };
    assert.equal(afterApply.generation, before.generation, 'the same objects applied again change nothing');

    // The headless Service has the pod as its endpoint: DATABASE_URL's host resolves to it.
    await waitFor('an endpoint for orders-db', async () => {
      const slices = await cluster.kubectl([
        'get',
        'endpointslices',
        '-n',
        namespace,
        '-l',
        'kubernetes.io/service-name=orders-db',
        '-o',
        'jsonpath={.items[*].endpoints[*].targetRef.name}',
      ]);
      return slices.includes('orders-db-0');
    });
  });

  it('leaves the claim behind with reclaimPolicy Retain, and takes it with Delete, when the MicroService goes', async () => {
    const kept = await createMicroService('kept', { instance: 'dedicated', engine: 'mysql', reclaimPolicy: 'Retain' });
    const gone = await createMicroService('gone', { instance: 'dedicated', engine: 'mysql', reclaimPolicy: 'Delete' });
    for (const ms of [kept, gone]) {
      const claim = `data-${ms.metadata.name}-db-0`;
      await cluster.kubectl(['apply', '-f', '-'], { input: JSON.stringify(volumeFor(claim, '1Gi')) });
      await applyServerSide([secretFor(ms), ...buildDedicatedDatabase(ms)]);
    }
    for (const name of ['kept', 'gone']) {
      await waitFor(`${name}-db-0 ready`, async () => {
        const set = await getJson('statefulset', `${name}-db`);
        return (set.status as { readyReplicas?: number } | undefined)?.readyReplicas === 1;
      });
    }
    for (const name of ['kept', 'gone']) {
      await cluster.kubectl(['delete', 'microservice.flotilla.dev', name, '-n', namespace, '--wait=true']);
    }
    for (const name of ['kept', 'gone']) {
      await waitFor(`the owner references to take ${name}-db`, async () => {
        const left = await Promise.all([
          exists('statefulset', `${name}-db`),
          exists('service', `${name}-db`),
          exists('networkpolicy', `${name}-db`),
          exists('pod', `${name}-db-0`),
        ]);
        return left.every((x) => !x);
      });
    }
    await waitFor('the claim of gone to be deleted', async () => !(await exists('pvc', 'data-gone-db-0')));
    assert.equal(await exists('pvc', 'data-kept-db-0'), true, 'Retain keeps the claim, and with it the data');
  });
});
