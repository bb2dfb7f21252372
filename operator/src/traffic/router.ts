// The one interface every traffic router implements, and the types they share. A router turns a
// MicroService (and, during a release, a Rollout's weighted split) into the route objects to apply
// and the RoutesReady condition that explains them. The routers are listed once, in registry.ts.
import type { V1Service } from '@kubernetes/client-node';
import type { MicroService } from '../api/microservice.ts';
import type { ChildMeta } from '../desired/meta.ts';
import type { MeshControlPlane } from '../desired/network-policy.ts';
import type { ResourceType } from '../kube/objects.ts';
import type { GatewayApiOptions } from './gateway-api.ts';

/** A router's name: what `chooseRouter` returns; `none` writes no routes (no mesh installed). */
export type TrafficRouter = 'istio' | 'gatewayAPI' | 'none';

/** A share of the traffic for one revision of a service while a Rollout releases it. */
export interface TrafficSplit {
  role: 'stable' | 'canary';
  revision: string;
  /** Percent; the weights of a split sum to 100. */
  weight: number;
}

/** A route object of any router: a VirtualService, a DestinationRule, an HTTPRoute. */
export interface RouteObject {
  apiVersion: string;
  kind: string;
  metadata: ChildMeta;
  spec: object;
}

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
   * Gateway API to the per-revision Services (`buildSplitServices`), which the caller applies.
   */
  split?: readonly TrafficSplit[];
}

/** What discovery found installed: for each router with routes, whether all its kinds are served. */
export type InstalledApis = Record<Exclude<TrafficRouter, 'none'>, boolean>;

/** A router: the kinds it writes, the routes it builds, the Services a split needs. */
export interface Router {
  readonly name: TrafficRouter;
  /** The route kinds it writes; it is installed when the cluster serves all of them. */
  readonly kinds: readonly ResourceType[];
  /** The mesh control plane the service's sidecars must reach (NetworkPolicy egress), if any. */
  readonly meshControlPlane?: MeshControlPlane;
  /** The route objects for a service with ports, and the RoutesReady condition. */
  buildRoutes(ms: MicroService, options: RouteOptions): RoutesPlan;
  /** The Services a weighted split needs beside the service's own (the Gateway API's backends). */
  buildSplitServices(ms: MicroService, split: readonly TrafficSplit[]): V1Service[];
}

/** A service without ports: nothing to route to, and nothing wrong. */
export function noPortsPlan(): RoutesPlan {
  return {
    objects: [],
    condition: {
      status: 'True',
      reason: RoutesReadyReason.NoPorts,
      message: 'the service has no ports; no routes are needed',
    },
  };
}

const exposedAt = (ms: MicroService): string =>
  ms.spec.expose ? `; ${ms.spec.expose.hosts.join(', ')} is served through ${ms.spec.expose.gateway}` : '';

/** RoutesReady True for `what` was written; the traffic settings the router cannot express are named. */
export function routesConfigured(ms: MicroService, what: string, unsupported: string[] = []): RoutesCondition {
  const message = `${what}${exposedAt(ms)}`;
  return unsupported.length === 0
    ? { status: 'True', reason: RoutesReadyReason.RoutesConfigured, message }
    : {
        status: 'True',
        reason: RoutesReadyReason.TrafficSettingsUnsupported,
        message: `${message}; not applied: ${unsupported.join('; ')}`,
      };
}
