import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidSpecError } from '../desired/errors.ts';
import { childMeta } from '../desired/meta.ts';
import {
  type Modifier,
  microService,
  validChild,
  withExpose,
  withHttpPort,
  withPorts,
  withTraffic,
} from '../desired/testing.ts';
import { buildDestinationRule, buildVirtualService, type DestinationRule, type VirtualService } from './istio.ts';

const host = 'orders.shop.svc.cluster.local';

describe('buildDestinationRule', () => {
  const cases: { name: string; modifiers: Modifier[]; spec: DestinationRule['spec'] }[] = [
    { name: 'no traffic settings: the host alone', modifiers: [withHttpPort()], spec: { host } },
    {
      name: 'timeout and retries only: no traffic policy (they belong to the VirtualService)',
      modifiers: [withTraffic({ timeout: '2s', retries: { attempts: 3 } })],
      spec: { host },
    },
    {
      name: 'a full circuit breaker: outlier detection, durations in protobuf seconds',
      modifiers: [
        withTraffic({
          circuitBreaker: { consecutiveErrors: 5, interval: '10s', baseEjectionTime: '1m', maxEjectionPercent: 50 },
        }),
      ],
      spec: {
        host,
        trafficPolicy: {
          outlierDetection: {
            consecutive5xxErrors: 5,
            interval: '10s',
            baseEjectionTime: '60s',
            maxEjectionPercent: 50,
          },
        },
      },
    },
    {
      name: 'a circuit breaker with only consecutiveErrors: Istio defaults the rest',
      modifiers: [withTraffic({ circuitBreaker: { consecutiveErrors: 3 } })],
      spec: { host, trafficPolicy: { outlierDetection: { consecutive5xxErrors: 3 } } },
    },
    {
      name: 'maxEjectionPercent 0 is kept',
      modifiers: [withTraffic({ circuitBreaker: { consecutiveErrors: 3, maxEjectionPercent: 0 } })],
      spec: { host, trafficPolicy: { outlierDetection: { consecutive5xxErrors: 3, maxEjectionPercent: 0 } } },
    },
    {
      name: 'a connection pool: TCP connections and pending HTTP/1 requests',
      modifiers: [withTraffic({ connectionPool: { maxConnections: 100, maxPendingRequests: 10 } })],
      spec: {
        host,
        trafficPolicy: { connectionPool: { tcp: { maxConnections: 100 }, http: { http1MaxPendingRequests: 10 } } },
      },
    },
    {
      name: 'a connection pool with only maxPendingRequests',
      modifiers: [withTraffic({ connectionPool: { maxPendingRequests: 10 } })],
      spec: { host, trafficPolicy: { connectionPool: { http: { http1MaxPendingRequests: 10 } } } },
    },
    {
      name: 'an empty connection pool: no traffic policy',
      modifiers: [withTraffic({ connectionPool: {} })],
      spec: { host },
    },
    {
      name: 'both',
      modifiers: [
        withTraffic({
          circuitBreaker: { consecutiveErrors: 5, interval: '500ms' },
          connectionPool: { maxConnections: 1 },
        }),
      ],
      spec: {
        host,
        trafficPolicy: {
          outlierDetection: { consecutive5xxErrors: 5, interval: '0.5s' },
          connectionPool: { tcp: { maxConnections: 1 } },
        },
      },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const dr = validChild(buildDestinationRule(microService('orders', ...c.modifiers)));
      assert.equal(dr.apiVersion, 'networking.istio.io/v1');
      assert.equal(dr.kind, 'DestinationRule');
      assert.deepEqual(dr.metadata, childMeta(microService('orders')));
      assert.deepEqual(dr.spec, c.spec);
    });
  }

  it('uses the cluster domain it is given', () => {
    const dr = buildDestinationRule(microService('orders'), { clusterDomain: 'corp.internal' });
    assert.equal(dr.spec.host, 'orders.shop.svc.corp.internal');
  });
});

describe('buildVirtualService', () => {
  const mesh = (extra: object = {}) => ({ name: 'mesh', route: [{ destination: { host } }], ...extra });

  const cases: { name: string; modifiers: Modifier[]; spec: VirtualService['spec'] }[] = [
    {
      name: 'no traffic settings: a plain mesh route',
      modifiers: [withHttpPort()],
      spec: { hosts: [host], http: [mesh()] },
    },
    {
      name: 'timeout and retries',
      modifiers: [
        withHttpPort(),
        withTraffic({
          timeout: '2s',
          retries: { attempts: 3, perTryTimeout: '500ms', retryOn: '5xx,reset,connect-failure' },
        }),
      ],
      spec: {
        hosts: [host],
        http: [
          mesh({
            timeout: '2s',
            retries: { attempts: 3, perTryTimeout: '0.5s', retryOn: '5xx,reset,connect-failure' },
          }),
        ],
      },
    },
    {
      name: 'retries without a timeout, nor perTryTimeout, nor retryOn',
      modifiers: [withHttpPort(), withTraffic({ retries: { attempts: 2 } })],
      spec: { hosts: [host], http: [mesh({ retries: { attempts: 2 } })] },
    },
    {
      name: 'attempts 0 turns retries off',
      modifiers: [withHttpPort(), withTraffic({ retries: { attempts: 0 } })],
      spec: { hosts: [host], http: [mesh({ retries: { attempts: 0 } })] },
    },
    {
      name: 'a timeout without retries',
      modifiers: [withHttpPort(), withTraffic({ timeout: '1m30s' })],
      spec: { hosts: [host], http: [mesh({ timeout: '90s' })] },
    },
    {
      name: 'expose: bound to the gateway and the mesh; gateway traffic under the prefix to the service port',
      modifiers: [
        withPorts({ name: 'http', port: 8002, targetPort: 8080 }),
        withExpose({ pathPrefix: '/orders' }),
        withTraffic({ timeout: '2s' }),
      ],
      spec: {
        hosts: [host, 'api.example.com'],
        gateways: ['istio-system/public', 'mesh'],
        http: [
          {
            name: 'gateway',
            match: [{ gateways: ['istio-system/public'], uri: { prefix: '/orders' } }],
            route: [{ destination: { host, port: { number: 8002 } } }],
            timeout: '2s',
          },
          mesh({ match: [{ gateways: ['mesh'] }], timeout: '2s' }),
        ],
      },
    },
    {
      name: 'expose without pathPrefix: /, several hosts, the named port',
      modifiers: [
        withHttpPort(),
        withPorts({ name: 'web', port: 8443 }),
        withExpose({ hosts: ['shop.example.com', '*.shop.example.com'], port: 'web' }),
      ],
      spec: {
        hosts: [host, 'shop.example.com', '*.shop.example.com'],
        gateways: ['istio-system/public', 'mesh'],
        http: [
          {
            name: 'gateway',
            match: [{ gateways: ['istio-system/public'], uri: { prefix: '/' } }],
            route: [{ destination: { host, port: { number: 8443 } } }],
          },
          mesh({ match: [{ gateways: ['mesh'] }] }),
        ],
      },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const vs = validChild(buildVirtualService(microService('orders', ...c.modifiers)));
      assert.equal(vs.apiVersion, 'networking.istio.io/v1');
      assert.equal(vs.kind, 'VirtualService');
      assert.deepEqual(vs.metadata, childMeta(microService('orders')));
      assert.deepEqual(vs.spec, c.spec);
    });
  }

  it('rejects an expose.port that names no port (the CRD rule, checked again)', () => {
    const ms = microService('orders', withHttpPort(), withExpose({ port: 'admin' }));
    assert.throws(() => buildVirtualService(ms), InvalidSpecError);
  });

  it('the schema check would catch a wrong shape', () => {
    const vs = buildVirtualService(microService('orders', withHttpPort()));
    const broken = { ...vs, spec: { ...vs.spec, http: [{ ...mesh(), timeout: 2 }] } } as unknown as VirtualService;
    assert.throws(() => validChild(broken), /timeout must be string/);
  });
});

describe('a Rollout traffic split', () => {
  const split = [
    { role: 'stable', revision: 'aaaaaaaaaa', weight: 90 },
    { role: 'canary', revision: 'bbbbbbbbbb', weight: 10 },
  ] as const;

  it('gives the DestinationRule one subset per revision, selected by its revision label', () => {
    const dr = validChild(buildDestinationRule(microService('orders', withHttpPort()), { split }));
    assert.deepEqual(dr.spec.subsets, [
      { name: 'stable', labels: { 'flotilla.dev/revision': 'aaaaaaaaaa' } },
      { name: 'canary', labels: { 'flotilla.dev/revision': 'bbbbbbbbbb' } },
    ]);
  });

  it('weights the mesh route across the subsets', () => {
    const vs = validChild(buildVirtualService(microService('orders', withHttpPort()), { split }));
    assert.deepEqual(vs.spec.http?.[0]?.route, [
      { destination: { host, subset: 'stable' }, weight: 90 },
      { destination: { host, subset: 'canary' }, weight: 10 },
    ]);
  });

  it('weights the gateway route and the mesh route alike when exposed', () => {
    const vs = validChild(buildVirtualService(microService('orders', withHttpPort(), withExpose()), { split }));
    const [gateway, mesh] = vs.spec.http ?? [];
    assert.deepEqual(
      gateway?.route?.map((r) => [r.destination?.subset, r.destination?.port, r.weight]),
      [
        ['stable', { number: 80 }, 90],
        ['canary', { number: 80 }, 10],
      ],
    );
    assert.deepEqual(
      mesh?.route?.map((r) => [r.destination?.subset, r.weight]),
      [
        ['stable', 90],
        ['canary', 10],
      ],
    );
  });
});
