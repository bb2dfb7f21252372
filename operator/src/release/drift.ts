// Whether an observed child still holds what Flotilla applied. The API server adds defaults and
// other writers add fields of their own, so the test is containment: every field of the desired
// (minimal) object is present in the observed one with the same value. The desired object carries
// a hash of itself, so a difference tells a spec change (new hash) from a hand edit (same hash).
import { canonicalHash } from '../common/hash.ts';
import type { KubeObject } from '../kube/objects.ts';

/** The annotation holding the hash of the desired object a child was last applied from. */
export const DESIRED_HASH_ANNOTATION = 'flotilla.dev/desired-hash';

/** A 16-character hash of `object` in canonical form. */
export function computeDesiredHash(object: unknown): string {
  return canonicalHash(object, 16);
}

/** `object` with the hash of itself in DESIRED_HASH_ANNOTATION. */
export function withDesiredHash<T extends KubeObject>(object: T): T {
  const hash = computeDesiredHash(object);
  return {
    ...object,
    metadata: { ...object.metadata, annotations: { ...object.metadata.annotations, [DESIRED_HASH_ANNOTATION]: hash } },
  };
}

const isEmpty = (value: unknown): boolean =>
  (Array.isArray(value) && value.length === 0) ||
  (value !== null && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length === 0);

/**
 * Whether every field of `desired` is in `observed` with an equal value. Objects may have extra
 * fields; arrays must have the same length and contain each desired element at the same index.
 * An empty array or object in `desired` matches an absent field (the API server drops them).
 */
export function isContainedIn(desired: unknown, observed: unknown): boolean {
  if (desired === undefined) return true;
  if (observed === undefined || observed === null) return desired === null || isEmpty(desired);
  if (Array.isArray(desired)) {
    if (!Array.isArray(observed) || observed.length !== desired.length) return false;
    return desired.every((item, index) => isContainedIn(item, observed[index]));
  }
  if (desired !== null && typeof desired === 'object') {
    if (typeof observed !== 'object' || Array.isArray(observed)) return false;
    const fields = observed as Record<string, unknown>;
    return Object.entries(desired).every(([key, value]) => isContainedIn(value, fields[key]));
  }
  return desired === observed;
}

export type ChildDrift = 'missing' | 'specChanged' | 'editedByHand' | 'none';

/** How `observed` differs from `desired` (which carries its hash). */
export function computeDrift(desired: KubeObject, observed: KubeObject | undefined): ChildDrift {
  if (!observed) return 'missing';
  const { metadata: desiredMeta, apiVersion: _a, kind: _k, ...desiredBody } = desired;
  const { metadata: observedMeta, ...observedBody } = observed;
  const wanted = {
    labels: desiredMeta.labels,
    annotations: desiredMeta.annotations,
    owners: desiredMeta.ownerReferences,
  };
  const seen = {
    labels: observedMeta.labels,
    annotations: observedMeta.annotations,
    owners: observedMeta.ownerReferences,
  };
  if (isContainedIn(wanted, seen) && isContainedIn(desiredBody, observedBody)) return 'none';
  const hash = desiredMeta.annotations?.[DESIRED_HASH_ANNOTATION];
  return hash !== undefined && observedMeta.annotations?.[DESIRED_HASH_ANNOTATION] === hash
    ? 'editedByHand'
    : 'specChanged';
}
