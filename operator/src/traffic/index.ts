// Traffic routing: one Router interface (router.ts), its implementations (istio.ts, gateway-api.ts,
// no-mesh.ts) and the one registry that lists them (registry.ts).
export {
  buildHttpRoute,
  GATEWAY_API_GROUP,
  GATEWAY_API_VERSION,
  type GatewayApiOptions,
  gatewayApiOptionsFromCrd,
  type HttpRoute,
  httpRouteType,
  retryCodes,
  splitServiceName,
  type WeightedBackend,
} from './gateway-api.ts';
export {
  buildDestinationRule,
  buildVirtualService,
  type DestinationRule,
  destinationRuleType,
  ISTIO_API_VERSION,
  type IstioOptions,
  MESH_GATEWAY,
  type VirtualService,
  virtualServiceType,
} from './istio.ts';
export {
  buildRoutes,
  chooseRouter,
  computeUrl,
  discoverRouters,
  installedRouteTypes,
  isServed,
  type ResolvedRouting,
  ROUTE_TYPES,
  resolveTrafficRouting,
  routeKindsInUse,
  routerFor,
} from './registry.ts';
export {
  type InstalledApis,
  type RouteObject,
  type RouteOptions,
  type Router,
  type RoutesCondition,
  type RoutesPlan,
  RoutesReadyReason,
  type TrafficRouter,
  type TrafficSplit,
} from './router.ts';
