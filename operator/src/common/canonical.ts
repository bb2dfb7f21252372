// One canonical form for comparing and hashing values exactly. Objects read through the library's
// typed API carry Date instances where the wire has strings (docs/kubernetes-client.md); our own
// client yields plain JSON. Both compare equal, and hash the same, once canonical.

/** metav1.Time: RFC 3339 in whole seconds, UTC. */
export function formatKubeTime(date: Date): string {
  return date.toISOString().replace(/\.\d+Z$/, 'Z');
}

/**
 * A plain-JSON copy of `value`: Date → RFC 3339 string (seconds), undefined properties dropped,
 * object keys sorted. Arrays keep their order.
 */
export function canonicalize(value: unknown): unknown {
  if (value instanceof Date) return formatKubeTime(value);
  if (Array.isArray(value)) return value.map((item) => (item === undefined ? null : canonicalize(item)));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const field = (value as Record<string, unknown>)[key];
      if (field !== undefined) out[key] = canonicalize(field);
    }
    return out;
  }
  return value;
}

/** Whether `a` and `b` are the same once both are in canonical form. */
export function canonicalEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonicalize(a)) === JSON.stringify(canonicalize(b));
}
