// The reads of the plugin: one service's objects for `get`, the fleet for `list`, and a watch that
// says when any of them changed (for `get --watch` and `status`: a watch, never polling).
import type { MicroService } from '../api/microservice.ts';
import type { Rollout } from '../api/rollout.ts';
import { microServiceType, rolloutType } from '../controllers/microservice/resources.ts';
import { LABEL_NAME } from '../desired/meta.ts';
import type { KubeClient } from '../kube/client.ts';
import { classifyError } from '../kube/errors.ts';
import { deploymentType, type ResourceType } from '../kube/objects.ts';
import { httpRouteType, virtualServiceType } from '../traffic/index.ts';
import type { ServiceObjects } from './view.ts';

export const podType: ResourceType = { group: '', version: 'v1', kind: 'Pod', plural: 'pods', namespaced: true };
export const replicaSetType: ResourceType = {
  group: 'apps',
  version: 'v1',
  kind: 'ReplicaSet',
  plural: 'replicasets',
  namespaced: true,
};

export type TargetKind = 'microservice' | 'rollout';

/** `ms`, `microservice(s)`, `rollout(s)`, with or without `.flotilla.dev`. */
export function parseTargetKind(word: string): TargetKind | undefined {
  const bare = word.toLowerCase().replace(/\.flotilla\.dev$/, '');
  if (['ms', 'microservice', 'microservices'].includes(bare)) return 'microservice';
  if (['rollout', 'rollouts', 'ro'].includes(bare)) return 'rollout';
  return undefined;
}

/** The Rollout that releases `service`: of several, the oldest (the one the controller follows). */
export function rolloutFor(rollouts: readonly Rollout[], service: string): Rollout | undefined {
  return rollouts
    .filter((r) => r.spec?.serviceRef?.name === service)
    .sort((a, b) => String(a.metadata.creationTimestamp).localeCompare(String(b.metadata.creationTimestamp)))[0];
}

/** Undefined where the kind is not served (no Istio, no Gateway API) or the object does not exist. */
async function optional<T>(read: Promise<T>): Promise<T | undefined> {
  try {
    return await read;
  } catch (error) {
    if (classifyError(error) === 'notFound') return undefined;
    throw error;
  }
}

/** The name of the service a `get`/`status` target names. */
export async function serviceOf(client: KubeClient, kind: TargetKind, namespace: string, name: string) {
  if (kind === 'microservice') return name;
  const rollout = await client.get<Rollout>(rolloutType, name, namespace);
  return rollout.spec.serviceRef.name;
}

export async function gatherService(
  client: KubeClient,
  kind: TargetKind,
  namespace: string,
  name: string,
): Promise<ServiceObjects> {
  const rollout =
    kind === 'rollout'
      ? await client.get<Rollout>(rolloutType, name, namespace)
      : rolloutFor((await client.list<Rollout>(rolloutType, { namespace })).items, name);
  const service = kind === 'rollout' ? (rollout?.spec.serviceRef.name ?? name) : name;
  const selector = { namespace, labelSelector: `${LABEL_NAME}=${service}` };
  const [microService, deployments, replicaSets, pods, virtualService, httpRoute] = await Promise.all([
    client.getIfExists<MicroService & { metadata: object }>(microServiceType, service, namespace),
    client.list(deploymentType, selector),
    client.list(replicaSetType, selector),
    client.list(podType, selector),
    optional(client.get(virtualServiceType, service, namespace)),
    optional(client.get(httpRouteType, service, namespace)),
  ]);
  return {
    namespace,
    name: service,
    ...(microService ? { microService } : {}),
    ...(rollout ? { rollout } : {}),
    deployments: deployments.items,
    replicaSets: replicaSets.items,
    pods: pods.items,
    ...(virtualService ? { virtualService } : {}),
    ...(httpRoute ? { httpRoute } : {}),
  };
}

export interface WatchTarget {
  type: ResourceType;
  namespace?: string;
  labelSelector?: string;
}

/**
 * Calls `onChange` whenever an object of the targets is added, modified or deleted, until `signal`
 * aborts. Each target is listed once for its resourceVersion, then watched from it; a watch the
 * server ends is resumed, a 410 Gone lists again, a kind that is not served is left out.
 */
export async function watchChanges(
  client: KubeClient,
  targets: readonly WatchTarget[],
  onChange: () => void,
  signal: AbortSignal,
): Promise<void> {
  await Promise.all(targets.map((target) => watchOne(client, target, onChange, signal)));
}

async function watchOne(client: KubeClient, target: WatchTarget, onChange: () => void, signal: AbortSignal) {
  const { type, namespace, labelSelector } = target;
  let resourceVersion: string | undefined;
  while (!signal.aborted) {
    try {
      if (resourceVersion === undefined) {
        resourceVersion = (await client.listPage(type, { namespace, labelSelector, limit: 1, signal })).resourceVersion;
        // A change between the caller's first read and this list is seen by no watch: look again.
        onChange();
      }
      const events = await client.watch(type, {
        namespace,
        labelSelector,
        resourceVersion,
        timeoutSeconds: 300,
        signal,
      });
      for await (const event of events) {
        resourceVersion = event.object.metadata.resourceVersion ?? resourceVersion;
        if (event.type !== 'BOOKMARK') onChange();
      }
    } catch (error) {
      if (signal.aborted) return;
      const kind = classifyError(error);
      if (kind === 'notFound') return;
      if (kind === 'gone') {
        resourceVersion = undefined;
        continue;
      }
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

/** What `get --watch` and `status` watch of a service: its objects, its Rollout and its routes. */
export function serviceWatchTargets(namespace: string, service: string): WatchTarget[] {
  const labelSelector = `${LABEL_NAME}=${service}`;
  return [
    { type: microServiceType, namespace },
    { type: rolloutType, namespace },
    { type: deploymentType, namespace, labelSelector },
    { type: podType, namespace, labelSelector },
    { type: virtualServiceType, namespace, labelSelector },
    { type: httpRouteType, namespace, labelSelector },
  ];
}
