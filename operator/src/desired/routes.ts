// Traffic routes behind one interface: the router is chosen from what the cluster has installed
// (found by discovery), and each router turns a MicroService into the route objects to apply and
// the RoutesReady condition that explains them.
import type { MicroService } from '../api/microservice.ts';
import type { TrafficRouting } from '../api/rollout.ts';
import { buildHttpRoute, type GatewayApiOptions, type HttpRoute } from './gateway-api.ts';
import {
  buildDestinationRule,
  buildVirtualService,
  type DestinationRule,
  type TrafficSplit,
  type VirtualService,
} from './istio.ts';
import { identityOf } from './meta.ts';

export type TrafficRouter = 'istio' | 'gatewayAPI' | 'none';

export type RouteObject = DestinationRule | VirtualService | HttpRoute;

export const RoutesReadyReason = {
  /** The routes carry every traffic setting of the spec. */
  RoutesConfigured: 'RoutesConfigured',
  /** The routes are written, but the router cannot express some traffic settings; the message names them. */
  TrafficSettingsUnsupported: 'TrafficSettingsUnsupported',
  /** Neither Istio nor the Gateway API is installed. */
  NoMeshInstalled: 'NoMeshInstalled',
  /** The service has no ports, so there is nothing to route to. */
  NoPorts: 'NoPorts',
} as const;

export interface RoutesCondition {
  status: 'True' | 'False';
  reason: (typeof RoutesReadyReason)[keyof typeof RoutesReadyReason];
  message: string;
}

export interface RoutesPlan {
  /** The objects to apply; any route object of ours not in this list is no longer wanted. */
  objects: RouteObject[];
  condition: RoutesCondition;
}

export interface RouteOptions {
  /** The cluster DNS domain (default cluster.local). */
  clusterDomain?: string;
  /** What the installed Gateway API supports; needed with the gatewayAPI router. */
  gatewayAPI?: GatewayApiOptions;
  /**
   * A Rollout's weighted split between revisions: Istio routes to a subset per revision, the
   * Gateway API to the per-revision Services (`splitServiceName`), which the caller creates.
   */
  split?: readonly TrafficSplit[];
}

/** The Service that selects one revision of a split for the Gateway API: `<name>-stable`, `<name>-canary`. */
export const splitServiceName = (name: string, role: TrafficSplit['role']): string => `${name}-${role}`;

/** What discovery found installed. */
export interface InstalledApis {
  /** networking.istio.io/v1 VirtualService and DestinationRule are served. */
  istio: boolean;
  /** gateway.networking.k8s.io/v1 HTTPRoute is served. */
  gatewayAPI: boolean;
}

/**
 * The one choice of router for a service's routes: the one its Rollout names (trafficRouting)
 * when installed; otherwise Istio when it is there (it understands every traffic setting), else
 * the Gateway API, else none.
 */
export function chooseRouter(installed: InstalledApis, requested?: TrafficRouting): TrafficRouter {
  if (requested === 'istio' && installed.istio) return 'istio';
  if (requested === 'gatewayAPI' && installed.gatewayAPI) return 'gatewayAPI';
  if (installed.istio) return 'istio';
  if (installed.gatewayAPI) return 'gatewayAPI';
  return 'none';
}

/** One backend: how a MicroService becomes route objects. */
export interface Router {
  buildRoutes(ms: MicroService, options: RouteOptions): RoutesPlan;
}

const exposedAt = (ms: MicroService): string =>
  ms.spec.expose ? `; ${ms.spec.expose.hosts.join(', ')} is served through ${ms.spec.expose.gateway}` : '';

const configured = (message: string, unsupported: string[]): RoutesCondition =>
  unsupported.length === 0
    ? { status: 'True', reason: RoutesReadyReason.RoutesConfigured, message }
    : {
        status: 'True',
        reason: RoutesReadyReason.TrafficSettingsUnsupported,
        message: `${message}; not applied: ${unsupported.join('; ')}`,
      };

const istioRouter: Router = {
  buildRoutes(ms, options) {
    const { name } = identityOf(ms);
    const istio = {
      ...(options.clusterDomain ? { clusterDomain: options.clusterDomain } : {}),
      ...(options.split ? { split: options.split } : {}),
    };
    return {
      objects: [buildDestinationRule(ms, istio), buildVirtualService(ms, istio)],
      condition: configured(`Istio DestinationRule and VirtualService ${name}${exposedAt(ms)}`, []),
    };
  },
};

const gatewayApiRouter: Router = {
  buildRoutes(ms, options) {
    const { name } = identityOf(ms);
    const gatewayAPI = options.gatewayAPI ?? { httpRouteRetry: false };
    const split = options.split?.map((s) => ({ service: splitServiceName(name, s.role), weight: s.weight }));
    const route = buildHttpRoute(ms, gatewayAPI, split);
    if (!route) return noPorts();
    const traffic = ms.spec.traffic ?? {};
    const unsupported: string[] = [];
    if (traffic.retries && !gatewayAPI.httpRouteRetry) {
      unsupported.push('retries (the installed HTTPRoute has no retry field: Gateway API 1.2+ experimental channel)');
    }
    if (traffic.circuitBreaker) unsupported.push('circuitBreaker (the Gateway API has no outlier detection)');
    if (traffic.connectionPool) unsupported.push('connectionPool (the Gateway API has no connection limits)');
    return {
      objects: [route],
      condition: configured(`Gateway API HTTPRoute ${name}${exposedAt(ms)}`, unsupported),
    };
  },
};

const noneRouter: Router = {
  buildRoutes(ms) {
    const unserved = ms.spec.expose ? `; ${ms.spec.expose.hosts.join(', ')} is not served` : '';
    return {
      objects: [],
      condition: {
        status: 'False',
        reason: RoutesReadyReason.NoMeshInstalled,
        message: `neither Istio nor the Gateway API is installed; no routes were written${unserved}`,
      },
    };
  },
};

function noPorts(): RoutesPlan {
  return {
    objects: [],
    condition: {
      status: 'True',
      reason: RoutesReadyReason.NoPorts,
      message: 'the service has no ports; no routes are needed',
    },
  };
}

const ROUTERS: Record<TrafficRouter, Router> = { istio: istioRouter, gatewayAPI: gatewayApiRouter, none: noneRouter };

/** The router for a kind of installation. */
export function routerFor(router: TrafficRouter): Router {
  return ROUTERS[router];
}

/** The route objects for a MicroService with the given router, and the RoutesReady condition that explains them. */
export function buildRoutes(ms: MicroService, router: TrafficRouter, options: RouteOptions = {}): RoutesPlan {
  if ((ms.spec.ports ?? []).length === 0) return noPorts();
  return routerFor(router).buildRoutes(ms, options);
}

/**
 * Where an exposed service is reached from outside, for status.url: the first host that is not a
 * wildcard (else the first host, as written) and the path prefix. The scheme is the gateway's
 * listener protocol, which the caller knows; default http.
 */
export function computeUrl(ms: MicroService, scheme: 'http' | 'https' = 'http'): string | undefined {
  const expose = ms.spec.expose;
  if (!expose) return undefined;
  const host = expose.hosts.find((h) => !h.startsWith('*.')) ?? expose.hosts[0];
  return `${scheme}://${host}${expose.pathPrefix ?? '/'}`;
}
