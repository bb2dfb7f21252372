// gather: every read one reconcile needs, from the caches (and, for route kinds that are not
// watched, one GET each). Nothing here writes.

import type { MicroService } from '../../api/microservice.ts';
import type { TrafficRouting } from '../../api/rollout.ts';
import { dedicatedDatabaseAddress } from '../../desired/dedicated-database.ts';
import { LABEL_MANAGED_BY, MANAGED_BY, telemetryName } from '../../desired/index.ts';
import type { KubeClient } from '../../kube/client.ts';
import { type KubeObject, type ResourceType, splitKey } from '../../kube/objects.ts';
import { requestedRouting } from '../../release/rollout.ts';
import type { ObjectCache } from '../../runtime/object-cache.ts';
import type { WriteTracker } from '../../runtime/write-tracker.ts';
import {
  discoverRouters,
  type InstalledApis,
  installedRouteTypes,
  isServed,
  routeKindsInUse,
} from '../../traffic/index.ts';
import { type ConfigDigestCaches, gatherConfig } from './config-digests.ts';
import { childId, type PlanInput } from './plan.ts';
import { crdName, microServiceType, rolloutType, telemetryType, WORKLOAD_CHILD_TYPES } from './resources.ts';

export interface GatherSources {
  client: KubeClient;
  cache: <T extends KubeObject = KubeObject>(type: ResourceType) => ObjectCache<T>;
  rolloutCache: ObjectCache;
  crdCache: ObjectCache;
  databaseServerCache: ObjectCache;
  /** The cache of a route kind, once watched and synced; undefined sends a GET instead. */
  routeCache: (type: ResourceType) => ObjectCache | undefined;
  tracker: WriteTracker;
  /** The digests of referenced ConfigMaps and Secrets; without them, config is not hashed. */
  configDigests?: ConfigDigestCaches;
  /** The operator's OTLP endpoint (--otlp-endpoint), passed on to plan. */
  otlpEndpoint?: string;
}

export type Observed = Omit<PlanInput, 'now' | 'workloads'>;

/**
 * The Rollouts that name the service `namespace/name`, oldest first (then by name): the first one
 * releases it, whatever order the cache lists them in.
 */
export function rolloutsOf(rollouts: Pick<ObjectCache, 'list'>, namespace: string, name: string): KubeObject[] {
  return rollouts
    .list({ namespace })
    .filter((r) => (r.spec as { serviceRef?: { name?: string } } | undefined)?.serviceRef?.name === name)
    .sort(
      (a, b) =>
        (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') ||
        (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''),
    );
}

const isOurs = (object: KubeObject, uid: string): boolean =>
  object.metadata.labels?.[LABEL_MANAGED_BY] === MANAGED_BY &&
  (object.metadata.ownerReferences ?? []).some((owner) => owner.uid === uid && owner.controller);

/**
 * The route objects named after the service, of every installed route kind: ours (from the watch
 * of the kind when it has synced), and the ids of those that exist but are not ours (a GET, made
 * only when the watch has no object of ours under that name, and only for the kinds in use: with
 * Istio and the Gateway API both installed, a hand-made HTTPRoute does not stand in the way).
 */
async function gatherRoutes(
  sources: GatherSources,
  ms: MicroService,
  installed: InstalledApis,
  requested: TrafficRouting | undefined,
): Promise<{ ours: KubeObject[]; foreign: string[] }> {
  const { name = '', namespace = '', uid = '' } = ms.metadata;
  const types = installedRouteTypes(installed);
  const inUse = routeKindsInUse(installed, requested);
  const found = await Promise.all(
    types.map(async (type) => {
      const watched = sources.routeCache(type);
      const fresh = sources.tracker.fresh(watched, type.kind).get(`${namespace}/${name}`);
      if (fresh && isOurs(fresh, uid)) return { ...fresh, kind: type.kind };
      if (watched && !inUse.includes(type)) return undefined;
      const object = await sources.client.getIfExists(type, name, namespace);
      return object && { ...object, kind: type.kind };
    }),
  );
  const ours: KubeObject[] = [];
  const foreign: string[] = [];
  for (const object of found) {
    if (!object) continue;
    if (isOurs(object, uid)) ours.push(object);
    else foreign.push(childId(object));
  }
  return { ours, foreign };
}

/** Everything plan needs for the MicroService at `key`, or undefined when it no longer exists. */
export async function gather(key: string, sources: GatherSources): Promise<Observed | undefined> {
  const { namespace = '', name } = splitKey(key);
  const { tracker } = sources;
  const services = tracker.fresh(sources.cache<MicroService>(microServiceType), microServiceType.kind);
  const ms = services.get(key);
  if (!ms || ms.metadata.deletionTimestamp) return undefined;
  const uid = ms.metadata.uid ?? '';

  const children = new Map<string, KubeObject>();
  for (const type of WORKLOAD_CHILD_TYPES) {
    for (const child of tracker.fresh(sources.cache(type), type.kind).listOwnedBy(uid)) {
      if (!isOurs(child, uid)) continue;
      const object = { ...child, kind: type.kind };
      children.set(childId(object), object);
    }
  }
  // Written by us and not in the cache yet (just created, or not ours there before our write).
  for (const written of tracker.writtenOwnedBy(uid)) {
    const id = childId(written);
    if (!children.has(id) && written.metadata.namespace === namespace) children.set(id, written);
  }

  // The Rollout as last written, if the cache has not seen that write yet: its status is the release's memory.
  const rollout = rolloutsOf(tracker.fresh(sources.rolloutCache, rolloutType.kind), namespace, name)[0];

  const { installed, gatewayAPI } = discoverRouters((name) => sources.crdCache.get(name));
  const routes = await gatherRoutes(sources, ms, installed, requestedRouting(rollout));
  for (const route of routes.ours) children.set(childId(route), route);
  const telemetryServed = isServed((crd) => sources.crdCache.get(crd), crdName(telemetryType), telemetryType.version);
  if (telemetryServed) {
    const fresh = tracker
      .fresh(sources.routeCache(telemetryType), telemetryType.kind)
      .get(`${namespace}/${telemetryName(name ?? '')}`);
    if (fresh && isOurs(fresh, uid))
      children.set(childId({ ...fresh, kind: telemetryType.kind }), { ...fresh, kind: telemetryType.kind });
  }

  const deletedByOthers = tracker.deletedByOthersIn(namespace);
  const dependents = services
    .list({ namespace })
    .filter((other) => (other.spec.dependsOn ?? []).includes(name))
    .map((other) => other.metadata.name ?? '')
    .sort();
  const serverRef = ms.spec.database?.serverRef;
  const server = serverRef ? sources.databaseServerCache.get(serverRef) : undefined;
  const databasePort = dedicatedDatabaseAddress(ms)?.port ?? (server?.spec as { port?: number } | undefined)?.port;
  const config = sources.configDigests ? await gatherConfig(ms, sources.configDigests, sources.client) : undefined;
  const broker = ms.spec.messaging ? sources.databaseServerCache.get(ms.spec.messaging.serverRef) : undefined;
  const brokerPort = (broker?.spec as { port?: number } | undefined)?.port;

  return {
    ms,
    children: [...children.values()],
    foreignRoutes: routes.foreign,
    deletedByOthers,
    rollout,
    dependents,
    installed,
    ...(gatewayAPI ? { gatewayAPI } : {}),
    ...(databasePort !== undefined ? { databasePort } : {}),
    ...(config ? { config } : {}),
    ...(sources.otlpEndpoint ? { otlpEndpoint: sources.otlpEndpoint } : {}),
    ...(telemetryServed ? { telemetryServed } : {}),
    ...(brokerPort !== undefined ? { brokerPort } : {}),
  };
}
