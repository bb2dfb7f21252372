// Routes against the real API server: with no mesh, RoutesReady says so; once the Istio CRDs
// appear, routes are written for services that already exist; a VirtualService made by hand under
// the service's name is never overwritten. Installs minimal Istio CRDs itself; the route CRDs the
// cluster had before (e.g. the real ones of a person's `npm start`) are removed during the suite
// and put back after it (withoutRouteCrds).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { standInCrd } from '../../scripts/route-crds.ts';
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
  withoutRouteCrds,
} from './microservice-support.ts';
import { installCrd } from './runtime-helpers.ts';

const cluster = await connectToCluster();
const namespace = freshNamespace('ms-routes');

/** Minimal CRDs of Istio's networking.istio.io/v1 kinds: any fields. */
const ISTIO_CRDS = [
  standInCrd('networking.istio.io', 'VirtualService', 'virtualservices'),
  standInCrd('networking.istio.io', 'DestinationRule', 'destinationrules'),
] as { metadata: { name: string } }[];

const service = (name: string) =>
  microServiceManifest(namespace, name, {
    image: `registry.example.com/shop/${name}:1.0.0`,
    ports: [{ name: 'http', port: 80, targetPort: 8080 }],
    traffic: { timeout: '2s' },
    expose: { gateway: 'istio-system/public', hosts: [`${name}.example.com`] },
  });

describe('MicroService routes', () => {
  // No route CRD during the suite; those there before (npm start's) are put back afterwards.
  withoutRouteCrds(cluster);
  const running = useControllerIn(cluster, namespace);

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
