// Status is written through the status subresource, at most once per reconcile, and only when it
// changed: the comparison is exact, in canonical form, so an unchanged status never causes a write.
import { canonicalEqual } from './canonical.ts';
import type { KubeClient } from './client.ts';
import type { KubeObject, ResourceType } from './objects.ts';

/**
 * Server-side applies `status` to the status subresource of `observed` unless `observed.status`
 * already equals it. Flotilla owns the whole status of its resources, so the comparison covers all
 * of it. Returns the written object, or undefined when nothing was written.
 */
export async function syncStatus<T extends KubeObject>(
  client: KubeClient,
  type: ResourceType,
  observed: KubeObject,
  status: unknown,
): Promise<T | undefined> {
  if (canonicalEqual(observed.status ?? {}, status)) return undefined;
  const { name, namespace } = observed.metadata;
  return client.apply<T>(type, { metadata: { name, namespace }, status }, { subresource: 'status' });
}
