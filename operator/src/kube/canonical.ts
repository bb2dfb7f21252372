// Canonical forms for the API's objects: the pure ones (common/canonical.ts), and stripping
// managedFields, which no reconciler reads.
import type { KubeObject } from './objects.ts';

export { canonicalEqual, canonicalize, formatKubeTime } from '../common/canonical.ts';

/** Removes metadata.managedFields in place (it is large and no reconciler reads it). */
export function stripManagedFields<T extends KubeObject>(object: T): T {
  if (object.metadata && 'managedFields' in object.metadata) delete object.metadata.managedFields;
  return object;
}
