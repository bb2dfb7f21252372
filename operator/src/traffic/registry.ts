// The traffic routers, listed once. Everything that depends on which routers exist — which route
// kinds to watch, which are installed, which one a service uses, what a Rollout's trafficRouting
// resolves to — is derived here from this list. A new router is one file and one line below.
import type { MicroService } from '../api/microservice.ts';
import type { TrafficRouting } from '../api/rollout.ts';
import { crdName, type KubeObject, type ResourceType } from '../kube/objects.ts';
import { type GatewayApiOptions, gatewayApiOptionsFromCrd, gatewayApiRouter, httpRouteType } from './gateway-api.ts';
import { istioRouter } from './istio.ts';
import { noMeshRouter } from './no-mesh.ts';
import {
  type InstalledApis,
  noPortsPlan,
  type RouteOptions,
  type Router,
  type RoutesPlan,
  type TrafficRouter,
} from './router.ts';

/** The routers that write routes, in the order `auto` prefers them (Istio understands every setting). */
const MESH_ROUTERS: readonly Router[] = [istioRouter, gatewayApiRouter];

/** The router of a name. */
export function routerFor(name: TrafficRouter): Router {
  return MESH_ROUTERS.find((router) => router.name === name) ?? noMeshRouter;
}

/** Every route kind some router writes: the kinds watched once their CRDs are served. */
export const ROUTE_TYPES: readonly ResourceType[] = MESH_ROUTERS.flatMap((router) => router.kinds);

const isInstalled = (installed: InstalledApis, router: Router): boolean =>
  (installed as unknown as Record<string, boolean | undefined>)[router.name] === true;

/**
 * The one choice of router for a service's routes: the one its Rollout names (trafficRouting)
 * when installed; otherwise Istio when it is there, else the Gateway API, else none.
 */
export function chooseRouter(installed: InstalledApis, requested?: TrafficRouting): TrafficRouter {
  const asked = MESH_ROUTERS.find((router) => router.name === requested && isInstalled(installed, router));
  return (asked ?? MESH_ROUTERS.find((router) => isInstalled(installed, router)) ?? noMeshRouter).name;
}

/** A routing the Rollout asked for, resolved against what is installed. */
export type ResolvedRouting = Exclude<TrafficRouting, 'auto'>;

/**
 * How a canary's traffic is split: `auto` is the chosen router, or replica counts without one. A
 * router asked for by name but not installed falls back to replica counts too (the Rollout's
 * message says so).
 */
export function resolveTrafficRouting(
  requested: TrafficRouting | undefined,
  installed: InstalledApis,
): ResolvedRouting {
  const mode = requested ?? 'auto';
  const router = chooseRouter(installed, mode);
  if (router === 'none' || (mode !== 'auto' && mode !== router)) return 'replicas';
  return router;
}

/** The route kinds of every installed router: where a route named after a service may exist. */
export function installedRouteTypes(installed: InstalledApis): ResourceType[] {
  return MESH_ROUTERS.filter((router) => isInstalled(installed, router)).flatMap((router) => router.kinds);
}

/** The route kinds the chosen router writes; a foreign object of any other kind is no conflict. */
export function routeKindsInUse(installed: InstalledApis, requested?: TrafficRouting): ResourceType[] {
  return [...routerFor(chooseRouter(installed, requested)).kinds];
}

/** Whether the CRD `name` is Established and serves `version`. */
export function isServed(lookup: (name: string) => KubeObject | undefined, name: string, version: string): boolean {
  const crd = lookup(name) as
    | {
        spec?: { versions?: { name: string; served?: boolean }[] };
        status?: { conditions?: { type: string; status: string }[] };
      }
    | undefined;
  if (!crd) return false;
  const established = crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
  return Boolean(established) && (crd.spec?.versions ?? []).some((v) => v.name === version && v.served !== false);
}

/** Which routers are installed (every kind of theirs served), from the CRDs; re-checked on every reconcile. */
export function discoverRouters(lookup: (name: string) => KubeObject | undefined): {
  installed: InstalledApis;
  gatewayAPI?: GatewayApiOptions;
} {
  const served = (router: Router) => router.kinds.every((type) => isServed(lookup, crdName(type), type.version));
  const installed = Object.fromEntries(MESH_ROUTERS.map((router) => [router.name, served(router)]));
  const httpRouteCrd = lookup(crdName(httpRouteType));
  return {
    installed: installed as unknown as InstalledApis,
    ...(installed.gatewayAPI && httpRouteCrd
      ? { gatewayAPI: gatewayApiOptionsFromCrd(httpRouteCrd as Parameters<typeof gatewayApiOptionsFromCrd>[0]) }
      : {}),
  };
}

/** The route objects for a MicroService with the given router, and the RoutesReady condition that explains them. */
export function buildRoutes(ms: MicroService, router: TrafficRouter, options: RouteOptions = {}): RoutesPlan {
  if ((ms.spec.ports ?? []).length === 0) return noPortsPlan();
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
