// Drift and ownership against the real API server: a deleted child comes back, a hand edit of a
// field Flotilla owns is repaired, fields others own (annotations, HPA-managed replicas, extra pod
// labels) are left alone; an invalid spec is reported and harms nothing already running.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connectToCluster } from '../support/cluster.ts';
import { eventually } from '../support/eventually.ts';
import {
  conditionOf,
  eventsFor,
  freshNamespace,
  getJson,
  kubectlApply,
  microServiceManifest,
  useControllerIn,
} from './microservice-support.ts';

const cluster = await connectToCluster();
const namespace = freshNamespace('ms-drift');

interface Deployment {
  metadata: {
    uid: string;
    resourceVersion: string;
    generation: number;
    annotations?: Record<string, string>;
    managedFields?: { manager: string; fieldsV1?: { 'f:spec'?: Record<string, unknown> } }[];
  };
  spec: { replicas: number; template: { spec: { containers: { image: string }[] } } };
}

const deploymentOf = (name: string) => getJson<Deployment>(cluster, ['-n', namespace, 'deployment', name]);
const imageOf = (d: Deployment) => d.spec.template.spec.containers[0]?.image;

async function createReady(name: string, spec: Record<string, unknown> = {}): Promise<void> {
  await kubectlApply(
    cluster,
    microServiceManifest(namespace, name, {
      image: `registry.example.com/shop/${name}:1.0.0`,
      ports: [{ name: 'http', port: 80, targetPort: 8080 }],
      ...spec,
    }),
  );
  await eventually(
    `${name} Ready`,
    async () => {
      assert.equal((await conditionOf(cluster, namespace, name, 'Ready'))?.status, 'True');
    },
    { timeoutMs: 45_000 },
  );
}

describe('MicroService drift', () => {
  const running = useControllerIn(cluster, namespace);

  it('restores a deleted child within a second, with an Event', { timeout: 60_000 }, async () => {
    await createReady('users');
    const before = await getJson<{ metadata: { uid: string } }>(cluster, ['-n', namespace, 'service', 'users']);
    await cluster.kubectl(['-n', namespace, 'delete', 'service', 'users', '--wait=true']);
    const deletedAt = Date.now();
    await eventually(
      'the Service is back',
      async () => {
        const after = await getJson<{ metadata: { uid: string } }>(cluster, ['-n', namespace, 'service', 'users']);
        assert.notEqual(after.metadata.uid, before.metadata.uid);
      },
      { intervalMs: 50 },
    );
    assert.ok(Date.now() - deletedAt < 1_500, `restored after ${Date.now() - deletedAt} ms`);
    await eventually('a DriftRepaired Event', async () => {
      const events = await eventsFor(cluster, namespace, 'users', 'DriftRepaired');
      assert.match(events.at(-1)?.message ?? '', /restored Service\/users/i);
    });
  });

  it('repairs a hand edit of an owned field and keeps an annotation another tool added', {
    timeout: 60_000,
  }, async () => {
    await createReady('payments');
    await cluster.kubectl(['-n', namespace, 'annotate', 'deployment', 'payments', 'example.com/owner=team-payments']);
    await cluster.kubectl([
      '-n',
      namespace,
      'set',
      'image',
      'deployment/payments',
      'payments=evil.example.com/x:6.6.6',
    ]);
    await eventually('the image is repaired', async () => {
      assert.equal(imageOf(await deploymentOf('payments')), 'registry.example.com/shop/payments:1.0.0');
    });
    const deployment = await deploymentOf('payments');
    assert.equal(deployment.metadata.annotations?.['example.com/owner'], 'team-payments');
    await eventually('a DriftRepaired Event', async () => {
      const events = await eventsFor(cluster, namespace, 'payments', 'DriftRepaired');
      assert.match(events.at(-1)?.message ?? '', /repaired Deployment\/payments/i);
    });
    // The annotation alone is no drift: nothing more is written.
    const writes = running().writesTo('/deployments/payments').length;
    running().controller.queue.add(`${namespace}/payments`);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    assert.equal(running().writesTo('/deployments/payments').length, writes);
    assert.equal((await deploymentOf('payments')).metadata.annotations?.['example.com/owner'], 'team-payments');
  });

  it('puts back a Service port whose number was edited by hand (an apply alone cannot: 422)', {
    timeout: 60_000,
  }, async () => {
    await createReady('inventory');
    await cluster.kubectl([
      '-n',
      namespace,
      'patch',
      'service',
      'inventory',
      '--type',
      'json',
      '-p',
      '[{"op":"replace","path":"/spec/ports/0/port","value":81}]',
    ]);
    await eventually('the port is 80 again, and only it', async () => {
      const service = await getJson<{ spec: { ports: { name: string; port: number }[] } }>(cluster, [
        '-n',
        namespace,
        'service',
        'inventory',
      ]);
      assert.deepEqual(
        service.spec.ports.map((port) => [port.name, port.port]),
        [['http', 80]],
      );
    });
    await eventually('a DriftRepaired Event, and the service not Degraded', async () => {
      const events = await eventsFor(cluster, namespace, 'inventory', 'DriftRepaired');
      assert.match(events.at(-1)?.message ?? '', /repaired Service\/inventory/i);
      assert.equal((await conditionOf(cluster, namespace, 'inventory', 'Degraded'))?.status, 'False');
    });
    assert.deepEqual(await eventsFor(cluster, namespace, 'inventory', 'ApplyFailed'), []);
  });

  it('leaves replicas to the HPA while autoscaling', { timeout: 90_000 }, async () => {
    await createReady('inventory', { autoscaling: { minReplicas: 3, maxReplicas: 6 } });
    const withFields = await getJson<Deployment>(cluster, [
      '-n',
      namespace,
      'deployment',
      'inventory',
      '--show-managed-fields',
    ]);
    const ours = withFields.metadata.managedFields?.find((f) => f.manager === 'flotilla');
    assert.ok(ours, 'flotilla manages fields of the Deployment');
    assert.equal(ours.fieldsV1?.['f:spec']?.['f:replicas'], undefined, 'flotilla does not own spec.replicas');
    // What the HPA (or a person acting for it) does: scale within [min, max].
    await cluster.kubectl(['-n', namespace, 'scale', 'deployment', 'inventory', '--replicas=4']);
    const writes = running().writesTo('/deployments/inventory').length;
    running().controller.queue.add(`${namespace}/inventory`);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    assert.equal(running().writesTo('/deployments/inventory').length, writes, 'no write to the Deployment');
    assert.equal((await deploymentOf('inventory')).spec.replicas, 4);
  });

  it('reports Progressing while new pods are not Ready, and Ready again once they are', {
    timeout: 90_000,
  }, async () => {
    await createReady('search');
    // A label another tool adds to the pod template: kept (not ours), and kwok keeps these pods unready.
    const label = (value: string | null) =>
      JSON.stringify({ spec: { template: { metadata: { labels: { 'flotilla.dev/simulate': value } } } } });
    await cluster.kubectl([
      '-n',
      namespace,
      'patch',
      'deployment',
      'search',
      '--type',
      'merge',
      '-p',
      label('not-ready'),
    ]);
    await eventually(
      'Progressing',
      async () => {
        const progressing = await conditionOf(cluster, namespace, 'search', 'Progressing');
        assert.equal(progressing?.status, 'True');
        assert.equal(progressing?.reason, 'RollingUpdate');
        assert.equal((await conditionOf(cluster, namespace, 'search', 'Ready'))?.status, 'False');
      },
      { timeoutMs: 30_000 },
    );
    const template = await getJson<{ spec: { template: { metadata: { labels: Record<string, string> } } } }>(cluster, [
      '-n',
      namespace,
      'deployment',
      'search',
    ]);
    assert.equal(
      template.spec.template.metadata.labels['flotilla.dev/simulate'],
      'not-ready',
      'the foreign label is kept',
    );
    await cluster.kubectl(['-n', namespace, 'patch', 'deployment', 'search', '--type', 'merge', '-p', label(null)]);
    await eventually(
      'Ready again',
      async () => {
        assert.equal((await conditionOf(cluster, namespace, 'search', 'Ready'))?.status, 'True');
        assert.equal((await conditionOf(cluster, namespace, 'search', 'Progressing'))?.status, 'False');
      },
      { timeoutMs: 45_000 },
    );
  });

  it('reports Degraded when the Deployment passes its progress deadline', { timeout: 90_000 }, async () => {
    await createReady('reviews');
    // Fields Flotilla does not own: a short deadline, and pods kwok keeps unready.
    const patch = JSON.stringify({
      spec: {
        progressDeadlineSeconds: 1,
        template: { metadata: { labels: { 'flotilla.dev/simulate': 'not-ready' } } },
      },
    });
    await cluster.kubectl(['-n', namespace, 'patch', 'deployment', 'reviews', '--type', 'merge', '-p', patch]);
    await eventually(
      'Degraded',
      async () => {
        const degraded = await conditionOf(cluster, namespace, 'reviews', 'Degraded');
        assert.equal(degraded?.status, 'True');
        assert.equal(degraded?.reason, 'ProgressDeadlineExceeded');
        assert.equal((await conditionOf(cluster, namespace, 'reviews', 'Ready'))?.status, 'False');
        assert.equal((await conditionOf(cluster, namespace, 'reviews', 'Progressing'))?.status, 'False');
      },
      { timeoutMs: 45_000 },
    );
  });

  it('rolls out a new image: Progressing, then Ready with a new currentRevision', { timeout: 90_000 }, async () => {
    await createReady('catalog');
    const revision = async () =>
      (await getJson<{ status: { currentRevision?: string } }>(cluster, ['-n', namespace, 'microservice', 'catalog']))
        .status.currentRevision;
    const first = await revision();
    await cluster.kubectl([
      '-n',
      namespace,
      'patch',
      'microservice',
      'catalog',
      '--type',
      'merge',
      '-p',
      JSON.stringify({ spec: { image: 'registry.example.com/shop/catalog:2.0.0' } }),
    ]);
    await eventually(
      'the new image is Ready',
      async () => {
        assert.equal(imageOf(await deploymentOf('catalog')), 'registry.example.com/shop/catalog:2.0.0');
        assert.equal((await conditionOf(cluster, namespace, 'catalog', 'Ready'))?.status, 'True');
        const current = await revision();
        assert.ok(current && current !== first, `currentRevision ${current} after ${first}`);
      },
      { timeoutMs: 45_000 },
    );
    const updated = await eventsFor(cluster, namespace, 'catalog', 'Updated');
    assert.match(updated.at(-1)?.message ?? '', /updated Deployment\/catalog/i);
  });

  it('reports an invalid spec as Degraded with a Warning Event and leaves the running Deployment alone', {
    timeout: 60_000,
  }, async () => {
    await createReady('billing');
    const before = await deploymentOf('billing');
    await kubectlApply(
      cluster,
      microServiceManifest(namespace, 'billing', {
        image: 'registry.example.com/shop/billing:2.0.0',
        ports: [{ name: 'http', port: 80, targetPort: 8080 }],
        probes: { readiness: { httpGet: { path: '/healthz', port: 'admin' } } },
      }),
    );
    await eventually('Degraded', async () => {
      const degraded = await conditionOf(cluster, namespace, 'billing', 'Degraded');
      assert.equal(degraded?.status, 'True');
      assert.equal(degraded?.reason, 'UnknownProbePort');
      assert.match(degraded?.message ?? '', /admin/);
      assert.equal((await conditionOf(cluster, namespace, 'billing', 'Ready'))?.status, 'False');
    });
    await eventually('a Warning Event', async () => {
      const events = await eventsFor(cluster, namespace, 'billing', 'InvalidSpec');
      assert.equal(events.at(-1)?.type, 'Warning');
    });
    const after = await deploymentOf('billing');
    assert.equal(after.metadata.generation, before.metadata.generation, 'the Deployment spec is unchanged');
    assert.equal(imageOf(after), 'registry.example.com/shop/billing:1.0.0');
    // Other services keep being reconciled.
    await createReady('shipping');
  });
});
