// Istio routes: a DestinationRule (circuit breaking, connection pool) and a VirtualService
// (timeout, retries; with expose, a route bound to the named Gateway).
import type { IDestinationRule } from '@kubernetes-models/istio/networking.istio.io/v1/DestinationRule';
import type { IVirtualService } from '@kubernetes-models/istio/networking.istio.io/v1/VirtualService';
import type { MicroService } from '../api/microservice.ts';
import { toProtoDuration } from '../desired/duration.ts';
import {
  type ChildMeta,
  childMeta,
  clusterLocalHost,
  DEFAULT_CLUSTER_DOMAIN,
  identityOf,
  REVISION_LABEL,
} from '../desired/meta.ts';
import { ISTIOD } from '../desired/network-policy.ts';
import { routedPort } from '../desired/ports.ts';
import type { ResourceType } from '../kube/objects.ts';
import { type Router, routesConfigured, type TrafficSplit } from './router.ts';

export const ISTIO_API_VERSION = 'networking.istio.io/v1';
/** The reserved gateway name that means "every sidecar in the mesh". */
export const MESH_GATEWAY = 'mesh';

type DestinationRuleSpec = NonNullable<IDestinationRule['spec']>;
type TrafficPolicy = NonNullable<DestinationRuleSpec['trafficPolicy']>;
type VirtualServiceSpec = NonNullable<IVirtualService['spec']>;
type HttpRoute = NonNullable<VirtualServiceSpec['http']>[number];

export interface DestinationRule {
  apiVersion: typeof ISTIO_API_VERSION;
  kind: 'DestinationRule';
  metadata: ChildMeta;
  spec: DestinationRuleSpec;
}

export interface VirtualService {
  apiVersion: typeof ISTIO_API_VERSION;
  kind: 'VirtualService';
  metadata: ChildMeta;
  spec: VirtualServiceSpec;
}

export interface IstioOptions {
  clusterDomain?: string;
  /** A Rollout's traffic split: one subset per revision (named after its role), weighted in the routes. */
  split?: readonly TrafficSplit[];
}

function buildTrafficPolicy(ms: MicroService): TrafficPolicy | undefined {
  const { circuitBreaker, connectionPool } = ms.spec.traffic ?? {};
  const policy: TrafficPolicy = {};
  if (circuitBreaker) {
    policy.outlierDetection = {
      consecutive5xxErrors: circuitBreaker.consecutiveErrors,
      ...(circuitBreaker.interval ? { interval: toProtoDuration(circuitBreaker.interval) } : {}),
      ...(circuitBreaker.baseEjectionTime
        ? { baseEjectionTime: toProtoDuration(circuitBreaker.baseEjectionTime) }
        : {}),
      ...(circuitBreaker.maxEjectionPercent !== undefined
        ? { maxEjectionPercent: circuitBreaker.maxEjectionPercent }
        : {}),
    };
  }
  if (connectionPool?.maxConnections !== undefined || connectionPool?.maxPendingRequests !== undefined) {
    policy.connectionPool = {
      ...(connectionPool.maxConnections !== undefined
        ? { tcp: { maxConnections: connectionPool.maxConnections } }
        : {}),
      ...(connectionPool.maxPendingRequests !== undefined
        ? { http: { http1MaxPendingRequests: connectionPool.maxPendingRequests } }
        : {}),
    };
  }
  return Object.keys(policy).length > 0 ? policy : undefined;
}

/**
 * The DestinationRule for the service's cluster-local host. It is written even without
 * circuitBreaker or connectionPool, so that removing them from the spec removes them here too.
 */
export function buildDestinationRule(ms: MicroService, options: IstioOptions = {}): DestinationRule {
  const trafficPolicy = buildTrafficPolicy(ms);
  return {
    apiVersion: ISTIO_API_VERSION,
    kind: 'DestinationRule',
    metadata: childMeta(ms),
    spec: {
      host: clusterLocalHost(ms, options.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN),
      ...(trafficPolicy ? { trafficPolicy } : {}),
      ...(options.split
        ? { subsets: options.split.map((s) => ({ name: s.role, labels: { [REVISION_LABEL]: s.revision } })) }
        : {}),
    },
  };
}

/** Timeout and retries, shared by the mesh route and the gateway route. */
function resilience(ms: MicroService): Pick<HttpRoute, 'timeout' | 'retries'> {
  const { timeout, retries } = ms.spec.traffic ?? {};
  const out: Pick<HttpRoute, 'timeout' | 'retries'> = {};
  if (timeout) out.timeout = toProtoDuration(timeout);
  if (retries) {
    out.retries = {
      attempts: retries.attempts,
      ...(retries.perTryTimeout ? { perTryTimeout: toProtoDuration(retries.perTryTimeout) } : {}),
      ...(retries.retryOn ? { retryOn: retries.retryOn } : {}),
    };
  }
  return out;
}

/**
 * The VirtualService. Without expose: one route for calls inside the mesh to the cluster-local
 * host. With expose: the gateway's hosts are added and the VirtualService is bound to both the
 * named Gateway and the mesh; gateway traffic under pathPrefix goes to the routed port, mesh
 * traffic as before, both with the same timeout and retries.
 */
export function buildVirtualService(ms: MicroService, options: IstioOptions = {}): VirtualService {
  const host = clusterLocalHost(ms, options.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN);
  const expose = ms.spec.expose;
  // Without a split, one destination; with one, a destination per revision subset, weighted.
  const destinations = (port?: { number: number }): NonNullable<HttpRoute['route']> =>
    options.split
      ? options.split.map((s) => ({
          destination: { host, subset: s.role, ...(port ? { port } : {}) },
          weight: s.weight,
        }))
      : [{ destination: { host, ...(port ? { port } : {}) } }];
  const meshRoute = (match?: HttpRoute['match']): HttpRoute => ({
    name: 'mesh',
    ...(match ? { match } : {}),
    route: destinations(),
    ...resilience(ms),
  });
  const metadata = childMeta(ms);
  if (!expose) {
    return {
      apiVersion: ISTIO_API_VERSION,
      kind: 'VirtualService',
      metadata,
      spec: { hosts: [host], http: [meshRoute()] },
    };
  }
  const port = routedPort(ms);
  const gatewayRoute: HttpRoute = {
    name: 'gateway',
    match: [{ gateways: [expose.gateway], uri: { prefix: expose.pathPrefix ?? '/' } }],
    route: destinations(port ? { number: port.port } : undefined),
    ...resilience(ms),
  };
  return {
    apiVersion: ISTIO_API_VERSION,
    kind: 'VirtualService',
    metadata,
    spec: {
      hosts: [host, ...expose.hosts],
      gateways: [expose.gateway, MESH_GATEWAY],
      http: [gatewayRoute, meshRoute([{ gateways: [MESH_GATEWAY] }])],
    },
  };
}

const istioKind = (kind: string, plural: string): ResourceType => ({
  group: 'networking.istio.io',
  version: 'v1',
  kind,
  plural,
  namespaced: true,
});
export const virtualServiceType = istioKind('VirtualService', 'virtualservices');
export const destinationRuleType = istioKind('DestinationRule', 'destinationrules');

/** Istio: a DestinationRule with a subset per revision, and a VirtualService that weights them. */
export const istioRouter: Router = {
  name: 'istio',
  kinds: [virtualServiceType, destinationRuleType],
  meshControlPlane: ISTIOD,
  buildRoutes(ms, options) {
    const istio = {
      ...(options.clusterDomain ? { clusterDomain: options.clusterDomain } : {}),
      ...(options.split ? { split: options.split } : {}),
    };
    return {
      objects: [buildDestinationRule(ms, istio), buildVirtualService(ms, istio)],
      condition: routesConfigured(ms, `Istio DestinationRule and VirtualService ${identityOf(ms).name}`),
    };
  },
  buildSplitServices: () => [],
};
