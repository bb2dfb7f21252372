// The generated CRDs on the real API server: the samples are accepted, and the API behaves as
// users will meet it — kubectl explain, scale, get flotilla, printer columns, defaults, status.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { API_VERSION } from '../../operator/src/api/index.ts';
import { type Manifest, readManifestDir } from '../../operator/src/api/manifests.ts';
import { connectToCluster } from '../support/cluster.ts';
import { installCrds, SAMPLES_DIR } from './api-support.ts';

const cluster = await connectToCluster();

/** The samples' namespaces and cluster-scoped names are rewritten so this file collides with no other test. */
const NAMESPACES: Record<string, string> = { shop: 'api-test-shop', 'flotilla-system': 'api-test-system' };
const SERVER_PREFIX = 'api-test-';

function relocate(manifest: Manifest): Manifest {
  const copy = structuredClone(manifest);
  if (copy.kind === 'Namespace') copy.metadata.name = NAMESPACES[copy.metadata.name] ?? copy.metadata.name;
  if (copy.metadata.namespace) copy.metadata.namespace = NAMESPACES[copy.metadata.namespace] ?? copy.metadata.namespace;
  if (copy.kind === 'DatabaseServer') {
    copy.metadata.name = SERVER_PREFIX + copy.metadata.name;
    const ref = (copy.spec as { adminSecretRef: { namespace: string } }).adminSecretRef;
    ref.namespace = NAMESPACES[ref.namespace] ?? ref.namespace;
  }
  const database = (copy.spec as { database?: { serverRef: string } } | undefined)?.database;
  if (copy.kind === 'MicroService' && database) database.serverRef = SERVER_PREFIX + database.serverRef;
  return copy;
}

const samples = readManifestDir(SAMPLES_DIR).map(({ file, manifest }) => ({ file, manifest: relocate(manifest) }));
const shop = NAMESPACES.shop as string;

const kubectlIn = (...args: string[]) => cluster.kubectl([...args, '-n', shop]);
const getJson = async (...args: string[]) => JSON.parse(await kubectlIn('get', ...args, '-o', 'json'));

describe('the Flotilla API on a real API server', () => {
  before(async () => {
    await installCrds(cluster);
  });

  after(async () => {
    const servers = samples.filter(({ manifest }) => manifest.kind === 'DatabaseServer');
    for (const { manifest } of servers) {
      await cluster.kubectl(['delete', 'databaseserver.flotilla.dev', manifest.metadata.name, '--ignore-not-found']);
    }
    for (const namespace of Object.values(NAMESPACES)) {
      await cluster.kubectl(['delete', 'namespace', namespace, '--ignore-not-found', '--wait=false']);
    }
  });

  it('accepts every sample, each applied as a user would', async () => {
    assert.ok(
      samples.length >= 12,
      'namespaces, database servers and Secrets, ConfigMaps, five services, two rollouts',
    );
    for (const { file, manifest } of samples) {
      const out = await cluster.kubectl(['apply', '--server-side', '-f', '-'], { input: JSON.stringify(manifest) });
      assert.match(out, /serverside-applied/, `${file}: ${manifest.kind} ${manifest.metadata.name}`);
    }
    const services = await kubectlIn('get', 'microservices.flotilla.dev', '-o', 'name');
    assert.deepEqual(services.trim().split('\n').sort(), [
      'microservice.flotilla.dev/inventory',
      'microservice.flotilla.dev/notifier',
      'microservice.flotilla.dev/orders',
      'microservice.flotilla.dev/payments',
      'microservice.flotilla.dev/users',
    ]);
  });

  it('applies the defaults of the schema', async () => {
    const orders = await getJson('rollout.flotilla.dev', 'orders');
    assert.equal(orders.spec.paused, false);
    assert.equal(orders.spec.strategy.canary.trafficRouting, 'auto');
    const payments = await getJson('rollout.flotilla.dev', 'payments');
    assert.equal(payments.spec.strategy.blueGreen.autoPromotionEnabled, false);
    const inventory = await getJson('ms', 'inventory');
    assert.deepEqual(inventory.spec.ports, [{ name: 'http', port: 8004, targetPort: 8080, protocol: 'TCP' }]);
    assert.deepEqual(inventory.spec.traffic.circuitBreaker, {
      consecutiveErrors: 5,
      baseEjectionTime: '60s',
      interval: '10s',
      maxEjectionPercent: 10,
    });
  });

  it('explains fields with their descriptions', async () => {
    const out = await cluster.kubectl(['explain', 'microservice.spec.traffic.retries']);
    assert.match(out, /GROUP:\s+flotilla\.dev/);
    assert.match(out, /Retries of failed requests/);
    assert.match(out, /attempts\s+<integer> -required-/);
    assert.match(out, /How many times a failed request is retried/);
    assert.match(out, /perTryTimeout\s+<string>/);
    assert.match(out, /retryOn\s+<string>/);
    const strategy = await cluster.kubectl(['explain', 'rollout.spec.strategy']);
    assert.match(strategy, /exactly one of canary, blueGreen, rolling/);
  });

  it('scales a MicroService with kubectl scale, through the scale subresource', async () => {
    await kubectlIn('scale', 'ms', 'users', '--replicas', '3');
    const users = await getJson('ms', 'users');
    assert.equal(users.spec.replicas, 3);
    const scale = JSON.parse(
      await cluster.kubectl(['get', '--raw', `/apis/${API_VERSION}/namespaces/${shop}/microservices/users/scale`]),
    );
    assert.equal(scale.kind, 'Scale');
    assert.equal(scale.spec.replicas, 3);
  });

  it('writes status only through the status subresource, and shows it in the printer columns', async () => {
    const status = {
      status: {
        observedGeneration: 1,
        replicas: 2,
        readyReplicas: 2,
        selector: 'app.kubernetes.io/name=orders',
        conditions: [
          {
            type: 'Ready',
            status: 'True',
            reason: 'AllReplicasReady',
            message: '2 of 2 ready',
            lastTransitionTime: '2026-01-01T00:00:00Z',
          },
        ],
      },
    };
    // Through the main resource, status is ignored...
    await kubectlIn('patch', 'ms', 'orders', '--type', 'merge', '-p', JSON.stringify(status));
    assert.equal((await getJson('ms', 'orders')).status, undefined);
    // ...through the subresource it is written.
    await kubectlIn('patch', 'ms', 'orders', '--subresource=status', '--type', 'merge', '-p', JSON.stringify(status));
    const table = await kubectlIn('get', 'ms', 'orders');
    const [header, row] = table.trim().split('\n');
    assert.match(header ?? '', /^NAME\s+IMAGE\s+READY\s+REPLICAS\s+AGE$/);
    assert.match(row ?? '', /^orders\s+registry\.example\.com\/shop\/orders:1\.4\.2\s+True\s+2\s+\S+$/);
    const scale = JSON.parse(
      await cluster.kubectl(['get', '--raw', `/apis/${API_VERSION}/namespaces/${shop}/microservices/orders/scale`]),
    );
    assert.equal(scale.status.replicas, 2);
    assert.equal(scale.status.selector, 'app.kubernetes.io/name=orders');
  });

  it('shows the Rollout and DatabaseServer printer columns', async () => {
    const rolloutStatus = { status: { strategy: 'Canary', phase: 'Paused', currentStepIndex: 1, canaryWeight: 10 } };
    await kubectlIn(
      'patch',
      'rollout.flotilla.dev',
      'orders',
      '--subresource=status',
      '--type',
      'merge',
      '-p',
      JSON.stringify(rolloutStatus),
    );
    const [header, row] = (await kubectlIn('get', 'rollout.flotilla.dev', 'orders')).trim().split('\n');
    assert.match(header ?? '', /^NAME\s+STRATEGY\s+PHASE\s+STEP\s+WEIGHT\s+AGE$/);
    assert.match(row ?? '', /^orders\s+Canary\s+Paused\s+1\s+10\s+\S+$/);
    const servers = await cluster.kubectl([
      'get',
      'dbs',
      `${SERVER_PREFIX}postgres-main`,
      `${SERVER_PREFIX}mysql-main`,
    ]);
    const lines = servers.trim().split('\n');
    assert.match(lines[0] ?? '', /^NAME\s+ENGINE\s+HOST\s+READY\s+SERVICES\s+AGE$/);
    assert.match(lines[1] ?? '', /^api-test-postgres-main\s+postgres\s+postgres\.databases\.svc\s+/);
    assert.match(lines[2] ?? '', /^api-test-mysql-main\s+mysql\s+mysql\.databases\.svc\s+/);
  });

  it('lists every Flotilla object with kubectl get flotilla', async () => {
    const out = await kubectlIn('get', 'flotilla', '-o', 'name');
    const names = out.trim().split('\n');
    for (const expected of [
      'microservice.flotilla.dev/orders',
      'microservice.flotilla.dev/users',
      'rollout.flotilla.dev/orders',
      'rollout.flotilla.dev/payments',
      `databaseserver.flotilla.dev/${SERVER_PREFIX}postgres-main`,
    ]) {
      assert.ok(names.includes(expected), `kubectl get flotilla lists ${expected}`);
    }
  });

  it('is not in the all category', async () => {
    const out = await kubectlIn('get', 'all', '-o', 'name');
    assert.doesNotMatch(out, /flotilla\.dev/);
  });

  it('takes the one-shot requests of the README verbatim', async () => {
    for (const request of ['{"spec":{"promote":"step"}}', '{"spec":{"promote":"full"}}', '{"spec":{"abort":true}}']) {
      await kubectlIn('patch', 'rollout.flotilla.dev', 'orders', '--type', 'merge', '-p', request);
      await kubectlIn(
        'patch',
        'rollout.flotilla.dev',
        'orders',
        '--type',
        'merge',
        '-p',
        '{"spec":{"promote":null,"abort":null}}',
      );
    }
    await kubectlIn('patch', 'rollout.flotilla.dev', 'orders', '--type', 'merge', '-p', '{"spec":{"retry":true}}');
    const rollout = await getJson('rollout.flotilla.dev', 'orders');
    assert.equal(rollout.spec.retry, true);
  });
});
