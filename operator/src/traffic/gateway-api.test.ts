import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
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
import { buildHttpRoute, gatewayApiOptionsFromCrd, type HttpRoute, retryCodes } from './gateway-api.ts';

const backend = { group: '', kind: 'Service', name: 'orders', port: 80 };
const everything = { path: { type: 'PathPrefix' as const, value: '/' } };
type Rule = NonNullable<HttpRoute['spec']['rules']>[number];

/** The spec of a route attached to its own Service (not exposed), with one rule for every path. */
const onService = (rule: Partial<Rule> = {}): HttpRoute['spec'] => ({
  parentRefs: [{ group: '', kind: 'Service', name: 'orders', port: 80 }],
  rules: [{ matches: [everything], backendRefs: [backend], ...rule }],
});

describe('buildHttpRoute', () => {
  it('is undefined for a service without ports', () => {
    assert.equal(buildHttpRoute(microService('orders'), { httpRouteRetry: true }), undefined);
  });

  const cases: {
    name: string;
    modifiers: Modifier[];
    httpRouteRetry?: boolean;
    spec: HttpRoute['spec'];
  }[] = [
    {
      name: 'not exposed: attached to its own Service (GAMMA), every path to the routed port',
      modifiers: [withHttpPort()],
      spec: onService(),
    },
    {
      name: 'exposed: attached to the named Gateway in its namespace, for the hosts, under the path prefix',
      modifiers: [withHttpPort(), withExpose({ pathPrefix: '/orders', hosts: ['api.example.com', '*.example.org'] })],
      spec: {
        parentRefs: [
          { group: 'gateway.networking.k8s.io', kind: 'Gateway', namespace: 'istio-system', name: 'public' },
        ],
        hostnames: ['api.example.com', '*.example.org'],
        rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/orders' } }], backendRefs: [backend] }],
      },
    },
    {
      name: 'exposed on a named port that is not the first',
      modifiers: [withHttpPort(), withPorts({ name: 'web', port: 8443 }), withExpose({ port: 'web' })],
      spec: {
        parentRefs: [
          { group: 'gateway.networking.k8s.io', kind: 'Gateway', namespace: 'istio-system', name: 'public' },
        ],
        hostnames: ['api.example.com'],
        rules: [{ matches: [everything], backendRefs: [{ ...backend, port: 8443 }] }],
      },
    },
    {
      name: 'timeout, perTryTimeout and retries: request and backendRequest timeouts, a retry stanza with codes',
      modifiers: [
        withHttpPort(),
        withTraffic({
          timeout: '2.5s',
          retries: { attempts: 3, perTryTimeout: '500ms', retryOn: '5xx,reset,connect-failure' },
        }),
      ],
      httpRouteRetry: true,
      spec: onService({
        timeouts: { request: '2s500ms', backendRequest: '500ms' },
        retry: { attempts: 3, codes: [500, 502, 503, 504] },
      }),
    },
    {
      name: 'retries where the installed HTTPRoute has no retry field: timeouts only',
      modifiers: [withHttpPort(), withTraffic({ timeout: '2s', retries: { attempts: 3, perTryTimeout: '500ms' } })],
      httpRouteRetry: false,
      spec: onService({ timeouts: { request: '2s', backendRequest: '500ms' } }),
    },
    {
      name: 'retries without a timeout: backendRequest alone; connection-level retryOn needs no codes',
      modifiers: [
        withHttpPort(),
        withTraffic({ retries: { attempts: 2, perTryTimeout: '1s', retryOn: 'reset,connect-failure' } }),
      ],
      httpRouteRetry: true,
      spec: onService({ timeouts: { backendRequest: '1s' }, retry: { attempts: 2 } }),
    },
    {
      name: 'attempts 0 with a perTryTimeout longer than the timeout: backendRequest is left out (it may not exceed request)',
      modifiers: [withHttpPort(), withTraffic({ timeout: '1s', retries: { attempts: 0, perTryTimeout: '2s' } })],
      httpRouteRetry: true,
      spec: onService({ timeouts: { request: '1s' }, retry: { attempts: 0 } }),
    },
    {
      name: 'circuit breaker and connection pool have no Gateway API field: nothing is written for them',
      modifiers: [
        withHttpPort(),
        withTraffic({ circuitBreaker: { consecutiveErrors: 5 }, connectionPool: { maxConnections: 10 } }),
      ],
      httpRouteRetry: true,
      spec: onService(),
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const route = validChild(
        buildHttpRoute(microService('orders', ...c.modifiers), { httpRouteRetry: c.httpRouteRetry ?? false }),
      );
      assert.equal(route.apiVersion, 'gateway.networking.k8s.io/v1');
      assert.equal(route.kind, 'HTTPRoute');
      assert.deepEqual(route.metadata, childMeta(microService('orders')));
      assert.deepEqual(route.spec, c.spec);
    });
  }

  it('the schema check would catch a fractional duration', () => {
    const route = validChild(buildHttpRoute(microService('orders', withHttpPort()), { httpRouteRetry: false }));
    const broken = { ...route, spec: { ...route.spec, rules: [{ timeouts: { request: '1.5s' } }] } };
    assert.throws(() => validChild(broken), /must match pattern/);
  });
});

describe('retryCodes', () => {
  const cases: { retryOn: string; codes: number[] }[] = [
    { retryOn: '5xx', codes: [500, 502, 503, 504] },
    { retryOn: 'gateway-error', codes: [502, 503, 504] },
    { retryOn: '5xx,gateway-error', codes: [500, 502, 503, 504] },
    { retryOn: 'retriable-4xx', codes: [409] },
    { retryOn: 'reset,connect-failure,refused-stream', codes: [] },
    { retryOn: '429,503,reset', codes: [429, 503] },
    { retryOn: '302', codes: [] },
  ];
  for (const c of cases) {
    it(`${c.retryOn} → [${c.codes.join(', ')}]`, () => {
      assert.deepEqual(retryCodes(c.retryOn), c.codes);
    });
  }
});

describe('gatewayApiOptionsFromCrd', () => {
  const crd = (version: string, ruleProperties: Record<string, object>, served = true) => ({
    spec: {
      versions: [
        {
          name: version,
          served,
          schema: {
            openAPIV3Schema: {
              properties: { spec: { properties: { rules: { items: { properties: ruleProperties } } } } },
            },
          },
        },
      ],
    },
  });
  const cases: { name: string; crd: Parameters<typeof gatewayApiOptionsFromCrd>[0]; retry: boolean }[] = [
    { name: 'experimental channel: v1 rules have retry', crd: crd('v1', { retry: {}, timeouts: {} }), retry: true },
    { name: 'standard channel: no retry', crd: crd('v1', { timeouts: {} }), retry: false },
    { name: 'retry only in an unserved v1', crd: crd('v1', { retry: {} }, false), retry: false },
    { name: 'only v1beta1', crd: crd('v1beta1', { retry: {} }), retry: false },
    { name: 'no versions at all', crd: {}, retry: false },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.deepEqual(gatewayApiOptionsFromCrd(c.crd), { httpRouteRetry: c.retry });
    });
  }
});

describe('buildHttpRoute with a Rollout traffic split', () => {
  it('weights one backendRef per revision Service, on the routed port', () => {
    const split = [
      { service: 'orders-stable', weight: 75 },
      { service: 'orders-canary', weight: 25 },
    ];
    const route = validChild(buildHttpRoute(microService('orders', withHttpPort()), { httpRouteRetry: false }, split));
    assert.deepEqual(route?.spec.rules?.[0]?.backendRefs, [
      { group: '', kind: 'Service', name: 'orders-stable', port: 80, weight: 75 },
      { group: '', kind: 'Service', name: 'orders-canary', port: 80, weight: 25 },
    ]);
  });
});
