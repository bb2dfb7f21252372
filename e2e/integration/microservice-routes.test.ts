// Routes against the real API server: with no mesh, RoutesReady says so; once the Istio CRDs
// appear, routes are written for services that already exist; a VirtualService made by hand under
// the service's name is never overwritten. Installs (and removes) minimal Istio CRDs itself.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectToCluster } from '../support/cluster.ts';
import { eventually } from '../support/eventually.ts';
import {
  conditionOf,
  eventsFor,
  exists,
  freshNamespace,
  getJson,
  kubectlApply,
  microServiceManifest,
  useControllerIn,
} from './microservice-support.ts';
import { deleteCrd, installCrd } from './runtime-helpers.ts';

const cluster = await connectToCluster();
const namespace = freshNamespace('ms-routes');

/** A minimal CRD of Istio's networking.istio.io/v1 kind: any fields. */
function istioCrd(kind: string, plural: string) {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.networking.istio.io` },
    spec: {
      group: 'networking.istio.io',
      scope: 'Namespaced',
      names: { kind, plural, singular: kind.toLowerCase(), listKind: `${kind}List` },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
        },
      ],
    },
  };
}
const ISTIO_CRDS = [istioCrd('VirtualService', 'virtualservices'), istioCrd('DestinationRule', 'destinationrules')];

const service = (name: string) =>
  microServiceManifest(namespace, name, {
    image: `registry.example.com/shop/${name}:1.0.0`,
    ports: [{ name: 'http', port: 80, targetPort: 8080 }],
    traffic: { timeout: '2s' },
    expose: { gateway: 'istio-system/public', hosts: [`${name}.example.com`] },
  });

describe('MicroService routes', () => {
  before(async () => {
    for (const crd of ISTIO_CRDS) await deleteCrd(cluster, crd.metadata.name);
    await eventually('no Istio CRDs', async () => {
      for (const crd of ISTIO_CRDS) assert.equal(await exists(cluster, ['crd', crd.metadata.name]), false);
    });
  });
  const running = useControllerIn(cluster, namespace);
  after(async () => {
    for (const crd of ISTIO_CRDS) await deleteCrd(cluster, crd.metadata.name);
  });

  it('with no mesh installed, RoutesReady is False with NoMeshInstalled', { timeout: 60_000 }, async () => {
    await kubectlApply(cluster, service('early'));
    await eventually('RoutesReady', async () => {
      const routes = await conditionOf(cluster, namespace, 'early', 'RoutesReady');
      assert.equal(routes?.status, 'False');
      assert.equal(routes?.reason, 'NoMeshInstalled');
      assert.match(routes?.message ?? '', /early\.example\.com is not served/);
    });
  });

  it('writes routes once the Istio CRDs appear, for services that already exist', { timeout: 60_000 }, async () => {
    for (const crd of ISTIO_CRDS) await installCrd(cluster, crd);
    await eventually(
      'routes of early',
      async () => {
        const vs = await getJson<{ metadata: { labels?: Record<string, string> }; spec: { hosts: string[] } }>(
          cluster,
          ['-n', namespace, 'virtualservices.networking.istio.io', 'early'],
        );
        assert.equal(vs.metadata.labels?.['app.kubernetes.io/managed-by'], 'flotilla');
        assert.ok(vs.spec.hosts.includes('early.example.com'));
        assert.ok(await exists(cluster, ['-n', namespace, 'destinationrules.networking.istio.io', 'early']));
        const routes = await conditionOf(cluster, namespace, 'early', 'RoutesReady');
        assert.equal(routes?.status, 'True');
        assert.equal(routes?.reason, 'RoutesConfigured');
      },
      { timeoutMs: 30_000 },
    );
    assert.ok(running().writesTo('/virtualservices/early').length >= 1);
  });

  it('repairs a hand edit of its VirtualService within a second, and reads routes from its watch', {
    timeout: 60_000,
  }, async () => {
    const patch = JSON.stringify({ spec: { hosts: ['hijacked.example.com'] } });
    await cluster.kubectl([
      '-n',
      namespace,
      'patch',
      'virtualservices.networking.istio.io',
      'early',
      '--type',
      'merge',
      '-p',
      patch,
    ]);
    const editedAt = Date.now();
    await eventually(
      'the hosts are repaired',
      async () => {
        const vs = await getJson<{ spec: { hosts: string[] } }>(cluster, [
          '-n',
          namespace,
          'virtualservices.networking.istio.io',
          'early',
        ]);
        assert.ok(vs.spec.hosts.includes('early.example.com'), JSON.stringify(vs.spec.hosts));
        assert.ok(!vs.spec.hosts.includes('hijacked.example.com'));
      },
      { intervalMs: 50 },
    );
    assert.ok(Date.now() - editedAt < 1_500, `repaired after ${Date.now() - editedAt} ms`);
    // Once the route kinds are watched, a reconcile reads our routes from the cache: no GET.
    await eventually(
      'a reconcile of the unchanged service that sends no request',
      async () => {
        const requests = running().requests.length;
        running().controller.queue.add(`${namespace}/early`);
        await new Promise((resolve) => setTimeout(resolve, 500));
        const sent = running()
          .requests.slice(requests)
          .filter((r) => r.path.includes(`/namespaces/${namespace}/`));
        assert.deepEqual(
          sent.filter((r) => r.verb !== 'WATCH' && r.verb !== 'LIST'),
          [],
        );
      },
      { timeoutMs: 15_000 },
    );
  });

  it('leaves a VirtualService made by hand under the same name alone, and says so', { timeout: 60_000 }, async () => {
    const handMade = {
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: { name: 'legacy', namespace, labels: { team: 'legacy' } },
      spec: { hosts: ['legacy.internal'], http: [{ route: [{ destination: { host: 'elsewhere' } }] }] },
    };
    await kubectlApply(cluster, handMade);
    await kubectlApply(cluster, service('legacy'));
    await eventually('RoutesReady says the route is not ours', async () => {
      const routes = await conditionOf(cluster, namespace, 'legacy', 'RoutesReady');
      assert.equal(routes?.status, 'False');
      assert.equal(routes?.reason, 'RouteNotOwned');
      assert.match(routes?.message ?? '', /VirtualService\/legacy/);
    });
    await eventually('a Warning Event', async () => {
      const events = await eventsFor(cluster, namespace, 'legacy', 'RouteNotOwned');
      assert.equal(events.at(-1)?.type, 'Warning');
    });
    const vs = await getJson<{ metadata: { labels?: Record<string, string> }; spec: unknown }>(cluster, [
      '-n',
      namespace,
      'virtualservices.networking.istio.io',
      'legacy',
    ]);
    assert.deepEqual(vs.spec, handMade.spec, 'the hand-made VirtualService is unchanged');
    assert.equal(vs.metadata.labels?.['app.kubernetes.io/managed-by'], undefined);
    assert.deepEqual(running().writesTo('/virtualservices/legacy'), [], 'not one write to it');
    assert.ok(await exists(cluster, ['-n', namespace, 'destinationrules.networking.istio.io', 'legacy']));
    assert.equal((await conditionOf(cluster, namespace, 'legacy', 'Ready'))?.status, 'True');
  });
});
