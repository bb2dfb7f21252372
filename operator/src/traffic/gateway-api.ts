// Gateway API routes: one HTTPRoute with timeouts and retry. With expose it is attached to the
// named Gateway for the hosts and path prefix; without, to the service itself (GAMMA, for meshes
// that implement the Gateway API).
import type { IHTTPRoute } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/HTTPRoute';
import type { MicroService } from '../api/microservice.ts';
import { parseDuration, toGatewayDuration } from '../desired/duration.ts';
import { type ChildMeta, childMeta, identityOf } from '../desired/meta.ts';
import { parseGatewayRef, routedPort } from '../desired/ports.ts';
import { buildService } from '../desired/service.ts';
import type { ResourceType } from '../kube/objects.ts';
import { noPortsPlan, type Router, routesConfigured, type TrafficSplit } from './router.ts';

export const GATEWAY_API_VERSION = 'gateway.networking.k8s.io/v1';
export const GATEWAY_API_GROUP = 'gateway.networking.k8s.io';

type HttpRouteSpec = IHTTPRoute['spec'];
type HttpRouteRule = NonNullable<HttpRouteSpec['rules']>[number];
type HttpRouteRetry = NonNullable<HttpRouteRule['retry']>;

export interface HttpRoute {
  apiVersion: typeof GATEWAY_API_VERSION;
  kind: 'HTTPRoute';
  metadata: ChildMeta;
  spec: HttpRouteSpec;
}

/** A weighted backend of the HTTPRoute while a Rollout releases the service: a per-revision Service. */
export interface WeightedBackend {
  service: string;
  weight: number;
}

export interface GatewayApiOptions {
  /**
   * Whether the installed HTTPRoute has `rules[].retry` (Gateway API ≥ 1.2, experimental channel).
   * Without it, retries are left out rather than pruned silently by the API server.
   */
  httpRouteRetry: boolean;
}

/** The retriable status codes for an Envoy-style retryOn condition; connection-level conditions have none. */
const RETRY_CODES: Record<string, number[]> = {
  '5xx': [500, 502, 503, 504],
  'gateway-error': [502, 503, 504],
  'retriable-4xx': [409],
};

/**
 * Status codes for `retry.codes` from retryOn. Conditions without a status code (reset,
 * connect-failure, refused-stream, ...) need none: the Gateway API says implementations retry
 * connection errors whenever a retry stanza is present.
 */
export function retryCodes(retryOn: string): number[] {
  const codes = new Set<number>();
  for (const condition of retryOn.split(',')) {
    if (/^[1-5][0-9][0-9]$/.test(condition)) {
      const code = Number(condition);
      if (code >= 400) codes.add(code);
    }
    for (const code of RETRY_CODES[condition] ?? []) codes.add(code);
  }
  return [...codes].sort((a, b) => a - b);
}

function buildRetry(ms: MicroService): HttpRouteRetry | undefined {
  const retries = ms.spec.traffic?.retries;
  if (!retries) return undefined;
  const codes = retries.retryOn ? retryCodes(retries.retryOn) : [];
  return { attempts: retries.attempts, ...(codes.length > 0 ? { codes } : {}) };
}

function buildTimeouts(ms: MicroService): HttpRouteRule['timeouts'] {
  const { timeout, retries } = ms.spec.traffic ?? {};
  const timeouts: NonNullable<HttpRouteRule['timeouts']> = {};
  if (timeout) timeouts.request = toGatewayDuration(timeout);
  const perTry = retries?.perTryTimeout;
  // backendRequest may not exceed request (a CEL rule of HTTPRoute); with attempts ≥ 1 our own CRD ensures it.
  if (perTry && (!timeout || parseDuration(perTry) <= parseDuration(timeout))) {
    timeouts.backendRequest = toGatewayDuration(perTry);
  }
  return Object.keys(timeouts).length > 0 ? timeouts : undefined;
}

/** The HTTPRoute, or undefined for a service without ports (a backendRef needs a port). */
export function buildHttpRoute(
  ms: MicroService,
  options: GatewayApiOptions,
  split?: readonly WeightedBackend[],
): HttpRoute | undefined {
  const port = routedPort(ms);
  if (!port) return undefined;
  const { name } = identityOf(ms);
  const expose = ms.spec.expose;
  const timeouts = buildTimeouts(ms);
  const retry = options.httpRouteRetry ? buildRetry(ms) : undefined;
  const rule: HttpRouteRule = {
    matches: [{ path: { type: 'PathPrefix', value: expose?.pathPrefix ?? '/' } }],
    backendRefs: split
      ? split.map((b) => ({ group: '', kind: 'Service', name: b.service, port: port.port, weight: b.weight }))
      : [{ group: '', kind: 'Service', name, port: port.port }],
    ...(timeouts ? { timeouts } : {}),
    ...(retry ? { retry } : {}),
  };
  const spec: HttpRouteSpec = expose
    ? {
        parentRefs: [{ group: GATEWAY_API_GROUP, kind: 'Gateway', ...parseGatewayRef(expose.gateway) }],
        hostnames: [...expose.hosts],
        rules: [rule],
      }
    : { parentRefs: [{ group: '', kind: 'Service', name, port: port.port }], rules: [rule] };
  return { apiVersion: GATEWAY_API_VERSION, kind: 'HTTPRoute', metadata: childMeta(ms), spec };
}

interface CrdVersionLike {
  name?: string;
  served?: boolean;
  schema?: { openAPIV3Schema?: SchemaLike };
}
interface SchemaLike {
  properties?: Record<string, SchemaLike>;
  items?: SchemaLike;
}

/**
 * What the installed HTTPRoute supports, read from its CustomResourceDefinition
 * (`httproutes.gateway.networking.k8s.io`): `rules[].retry` is in the v1 schema of the
 * experimental channel from Gateway API 1.2 on, and not in the standard channel.
 */
export function gatewayApiOptionsFromCrd(crd: { spec?: { versions?: CrdVersionLike[] } }): GatewayApiOptions {
  const v1 = crd.spec?.versions?.find((v) => v.name === 'v1' && v.served !== false);
  const rule = v1?.schema?.openAPIV3Schema?.properties?.spec?.properties?.rules?.items;
  return { httpRouteRetry: rule?.properties?.retry !== undefined };
}

export const httpRouteType: ResourceType = {
  group: GATEWAY_API_GROUP,
  version: 'v1',
  kind: 'HTTPRoute',
  plural: 'httproutes',
  namespaced: true,
};

/** The Service that selects one revision of a split for the Gateway API: `<name>-stable`, `<name>-canary`. */
export const splitServiceName = (name: string, role: TrafficSplit['role']): string => `${name}-${role}`;

/** The Gateway API: one HTTPRoute, weighted across a Service per revision during a release. */
export const gatewayApiRouter: Router = {
  name: 'gatewayAPI',
  kinds: [httpRouteType],
  buildRoutes(ms, options) {
    const { name } = identityOf(ms);
    const gatewayAPI = options.gatewayAPI ?? { httpRouteRetry: false };
    const split = options.split?.map((s) => ({ service: splitServiceName(name, s.role), weight: s.weight }));
    const route = buildHttpRoute(ms, gatewayAPI, split);
    if (!route) return noPortsPlan();
    const traffic = ms.spec.traffic ?? {};
    const unsupported: string[] = [];
    if (traffic.retries && !gatewayAPI.httpRouteRetry) {
      unsupported.push('retries (the installed HTTPRoute has no retry field: Gateway API 1.2+ experimental channel)');
    }
    if (traffic.circuitBreaker) unsupported.push('circuitBreaker (the Gateway API has no outlier detection)');
    if (traffic.connectionPool) unsupported.push('connectionPool (the Gateway API has no connection limits)');
    return { objects: [route], condition: routesConfigured(ms, `Gateway API HTTPRoute ${name}`, unsupported) };
  },
  buildSplitServices(ms, split) {
    const { name } = identityOf(ms);
    return split
      .map((s) => buildService(ms, { name: splitServiceName(name, s.role), revision: s.revision }))
      .filter((service) => service !== undefined);
  },
};
