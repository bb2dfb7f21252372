import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Modifier, microService, withExpose, withHttpPort, withTraffic } from '../desired/testing.ts';
import { buildRoutes, chooseRouter, computeUrl, resolveTrafficRouting, routeKindsInUse } from './registry.ts';
import type { RoutesCondition, TrafficRouter } from './router.ts';

describe('chooseRouter', () => {
  const cases: { istio: boolean; gatewayAPI: boolean; router: TrafficRouter }[] = [
    { istio: true, gatewayAPI: true, router: 'istio' },
    { istio: true, gatewayAPI: false, router: 'istio' },
    { istio: false, gatewayAPI: true, router: 'gatewayAPI' },
    { istio: false, gatewayAPI: false, router: 'none' },
  ];
  for (const c of cases) {
    it(`istio ${c.istio}, Gateway API ${c.gatewayAPI} → ${c.router}`, () => {
      assert.equal(chooseRouter(c), c.router);
    });
  }
  const asked: {
    requested: 'istio' | 'gatewayAPI' | 'replicas';
    istio: boolean;
    gatewayAPI: boolean;
    router: TrafficRouter;
  }[] = [
    { requested: 'gatewayAPI', istio: true, gatewayAPI: true, router: 'gatewayAPI' },
    { requested: 'istio', istio: true, gatewayAPI: true, router: 'istio' },
    { requested: 'gatewayAPI', istio: true, gatewayAPI: false, router: 'istio' },
    { requested: 'replicas', istio: false, gatewayAPI: true, router: 'gatewayAPI' },
  ];
  for (const c of asked) {
    it(`a Rollout asking for ${c.requested}, istio ${c.istio}, Gateway API ${c.gatewayAPI} → ${c.router}`, () => {
      assert.equal(chooseRouter(c, c.requested), c.router);
    });
  }
});

describe('buildRoutes', () => {
  const resilient = withTraffic({
    timeout: '2s',
    retries: { attempts: 3, perTryTimeout: '500ms' },
    circuitBreaker: { consecutiveErrors: 5 },
    connectionPool: { maxConnections: 100 },
  });

  const cases: {
    name: string;
    router: TrafficRouter;
    modifiers: Modifier[];
    httpRouteRetry?: boolean;
    kinds: string[];
    condition: RoutesCondition;
  }[] = [
    {
      name: 'Istio: a DestinationRule and a VirtualService',
      router: 'istio',
      modifiers: [withHttpPort(), resilient],
      kinds: ['DestinationRule', 'VirtualService'],
      condition: {
        status: 'True',
        reason: 'RoutesConfigured',
        message: 'Istio DestinationRule and VirtualService orders',
      },
    },
    {
      name: 'Istio, exposed: the message says where',
      router: 'istio',
      modifiers: [withHttpPort(), withExpose()],
      kinds: ['DestinationRule', 'VirtualService'],
      condition: {
        status: 'True',
        reason: 'RoutesConfigured',
        message:
          'Istio DestinationRule and VirtualService orders; api.example.com is served through istio-system/public',
      },
    },
    {
      name: 'Gateway API, only timeout and retries, retry supported: everything applied',
      router: 'gatewayAPI',
      modifiers: [withHttpPort(), withTraffic({ timeout: '2s', retries: { attempts: 3 } })],
      httpRouteRetry: true,
      kinds: ['HTTPRoute'],
      condition: { status: 'True', reason: 'RoutesConfigured', message: 'Gateway API HTTPRoute orders' },
    },
    {
      name: 'Gateway API with settings it cannot express: written, and the condition names what is left out',
      router: 'gatewayAPI',
      modifiers: [withHttpPort(), resilient],
      httpRouteRetry: false,
      kinds: ['HTTPRoute'],
      condition: {
        status: 'True',
        reason: 'TrafficSettingsUnsupported',
        message:
          'Gateway API HTTPRoute orders; not applied: retries (the installed HTTPRoute has no retry field: ' +
          'Gateway API 1.2+ experimental channel); circuitBreaker (the Gateway API has no outlier detection); ' +
          'connectionPool (the Gateway API has no connection limits)',
      },
    },
    {
      name: 'neither installed: no routes, and why',
      router: 'none',
      modifiers: [withHttpPort(), resilient],
      kinds: [],
      condition: {
        status: 'False',
        reason: 'NoMeshInstalled',
        message: 'neither Istio nor the Gateway API is installed; no routes were written',
      },
    },
    {
      name: 'neither installed, exposed: the hosts are not served',
      router: 'none',
      modifiers: [withHttpPort(), withExpose()],
      kinds: [],
      condition: {
        status: 'False',
        reason: 'NoMeshInstalled',
        message:
          'neither Istio nor the Gateway API is installed; no routes were written; api.example.com is not served',
      },
    },
    ...(['istio', 'gatewayAPI', 'none'] as const).map((router) => ({
      name: `no ports, router ${router}: nothing to route`,
      router,
      modifiers: [],
      kinds: [],
      condition: {
        status: 'True' as const,
        reason: 'NoPorts' as const,
        message: 'the service has no ports; no routes are needed',
      },
    })),
  ];
  for (const c of cases) {
    it(c.name, () => {
      const plan = buildRoutes(microService('orders', ...c.modifiers), c.router, {
        gatewayAPI: { httpRouteRetry: c.httpRouteRetry ?? false },
      });
      assert.deepEqual(
        plan.objects.map((o) => o.kind),
        c.kinds,
      );
      assert.deepEqual(plan.condition, c.condition);
      for (const o of plan.objects) assert.equal(o.metadata.labels['app.kubernetes.io/managed-by'], 'flotilla');
    });
  }

  it('passes the cluster domain to the Istio objects', () => {
    const plan = buildRoutes(microService('orders', withHttpPort()), 'istio', { clusterDomain: 'corp.internal' });
    for (const o of plan.objects) {
      assert.ok(JSON.stringify(o.spec).includes('orders.shop.svc.corp.internal'), `${o.kind} uses the domain`);
    }
  });
});

describe('computeUrl', () => {
  const cases: { name: string; modifiers: Modifier[]; scheme?: 'http' | 'https'; url: string | undefined }[] = [
    { name: 'not exposed: no URL', modifiers: [withHttpPort()], url: undefined },
    { name: 'exposed at the root', modifiers: [withHttpPort(), withExpose()], url: 'http://api.example.com/' },
    {
      name: 'exposed under a prefix, over https',
      modifiers: [withHttpPort(), withExpose({ pathPrefix: '/orders' })],
      scheme: 'https',
      url: 'https://api.example.com/orders',
    },
    {
      name: 'the first host that is not a wildcard',
      modifiers: [withHttpPort(), withExpose({ hosts: ['*.example.com', 'shop.example.com'] })],
      url: 'http://shop.example.com/',
    },
    {
      name: 'only wildcards: the first, as written',
      modifiers: [withHttpPort(), withExpose({ hosts: ['*.example.com'] })],
      url: 'http://*.example.com/',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.equal(computeUrl(microService('orders', ...c.modifiers), c.scheme), c.url);
    });
  }
});

describe('routeKindsInUse', () => {
  const cases: [string, { istio: boolean; gatewayAPI: boolean }, string[]][] = [
    ['Istio alone', { istio: true, gatewayAPI: false }, ['VirtualService', 'DestinationRule']],
    [
      'both: Istio is chosen, so a hand-made HTTPRoute is no conflict',
      { istio: true, gatewayAPI: true },
      ['VirtualService', 'DestinationRule'],
    ],
    ['the Gateway API alone', { istio: false, gatewayAPI: true }, ['HTTPRoute']],
    ['neither', { istio: false, gatewayAPI: false }, []],
  ];
  for (const [name, installed, kinds] of cases) {
    it(name, () =>
      assert.deepEqual(
        routeKindsInUse(installed).map((type) => type.kind),
        kinds,
      ),
    );
  }
  it('both, with a Rollout asking for the Gateway API: the HTTPRoute is in use', () =>
    assert.deepEqual(
      routeKindsInUse({ istio: true, gatewayAPI: true }, 'gatewayAPI').map((type) => type.kind),
      ['HTTPRoute'],
    ));
});

describe('resolveTrafficRouting', () => {
  const cases = [
    { requested: 'auto', istio: true, gatewayAPI: true, routing: 'istio' },
    { requested: 'auto', istio: false, gatewayAPI: true, routing: 'gatewayAPI' },
    { requested: 'auto', istio: false, gatewayAPI: false, routing: 'replicas' },
    { requested: undefined, istio: true, gatewayAPI: false, routing: 'istio' },
    { requested: 'gatewayAPI', istio: true, gatewayAPI: true, routing: 'gatewayAPI' },
    { requested: 'istio', istio: false, gatewayAPI: true, routing: 'replicas' },
    { requested: 'replicas', istio: true, gatewayAPI: true, routing: 'replicas' },
  ] as const;
  for (const c of cases) {
    it(`${c.requested} with istio ${c.istio}, Gateway API ${c.gatewayAPI} → ${c.routing}`, () => {
      assert.equal(resolveTrafficRouting(c.requested, c), c.routing);
    });
  }
});
