// Finalizers, for external things only (databases): added and removed with a JSON merge patch that
// carries the observed resourceVersion, so a concurrent change to the list fails with a conflict
// instead of being overwritten.
import type { KubeClient } from './client.ts';
import type { KubeObject, ResourceType } from './objects.ts';

export function hasFinalizer(object: KubeObject, finalizer: string): boolean {
  return object.metadata.finalizers?.includes(finalizer) ?? false;
}

export function isBeingDeleted(object: KubeObject): boolean {
  return Boolean(object.metadata.deletionTimestamp);
}

/** Adds `finalizer` unless present; returns the object as it now is. */
export async function addFinalizer<T extends KubeObject>(
  client: KubeClient,
  type: ResourceType,
  object: T,
  finalizer: string,
): Promise<T> {
  if (hasFinalizer(object, finalizer)) return object;
  return patchFinalizers(client, type, object, [...(object.metadata.finalizers ?? []), finalizer]);
}

/** Removes `finalizer` if present; returns the object as it now is (the API server may delete it). */
export async function removeFinalizer<T extends KubeObject>(
  client: KubeClient,
  type: ResourceType,
  object: T,
  finalizer: string,
): Promise<T> {
  if (!hasFinalizer(object, finalizer)) return object;
  const rest = (object.metadata.finalizers ?? []).filter((f) => f !== finalizer);
  return patchFinalizers(client, type, object, rest);
}

function patchFinalizers<T extends KubeObject>(
  client: KubeClient,
  type: ResourceType,
  object: T,
  finalizers: string[],
): Promise<T> {
  const { name = '', namespace, resourceVersion } = object.metadata;
  return client.mergePatch<T>(type, name, namespace, { metadata: { finalizers, resourceVersion } });
}
