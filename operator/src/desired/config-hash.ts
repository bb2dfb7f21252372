// Config changes are releases: the ConfigMaps and Secrets a service reads (env valueFrom, envFrom,
// files — of the service container, its sidecars and init containers), and one hash of their data
// for the pod template, so that an edit rolls the pods like an image change. Pure: the data comes in
// as per-key digests (SHA-256 of each value), so no Secret value is ever held, hashed in the clear
// into the template, or logged.
import type { EnvVarSpec } from '../api/container.ts';
import type { MicroServiceSpec } from '../api/microservice.ts';
import { canonicalHash, sha256Hex } from '../common/hash.ts';

export type ConfigKind = 'ConfigMap' | 'Secret';

/** One reference of the spec to a ConfigMap or Secret of the service's namespace. */
export interface ConfigRef {
  kind: ConfigKind;
  name: string;
  /** The keys read; undefined: every key (envFrom, files without items). */
  keys?: string[];
  /** The object may be missing (the reference says optional: true). */
  optional: boolean;
  /** Whether a change of its data rolls the pods (rollOnChange, default true). */
  roll: boolean;
}

/** What is known of one referenced object: the digest of each key, or that it does not exist. */
export type ConfigDigest = { exists: true; keys: Record<string, string> } | { exists: false };

/** `Kind/name`, how a reference is named in messages and indexes. */
export const configRefId = (ref: { kind: string; name: string }): string => `${ref.kind}/${ref.name}`;

function envRefs(env: readonly EnvVarSpec[] | undefined): ConfigRef[] {
  const refs: ConfigRef[] = [];
  for (const e of env ?? []) {
    const cm = e.valueFrom?.configMapKeyRef;
    const secret = e.valueFrom?.secretKeyRef;
    const selected = cm
      ? { kind: 'ConfigMap' as const, ref: cm }
      : secret
        ? { kind: 'Secret' as const, ref: secret }
        : undefined;
    if (selected) {
      const { kind, ref } = selected;
      refs.push({ kind, name: ref.name, keys: [ref.key], optional: ref.optional ?? false, roll: true });
    }
  }
  return refs;
}

/**
 * Every reference of the spec, merged by object: the union of the keys read (every key once any
 * reference reads all), optional only when every reference is, rolling when any reference rolls.
 */
export function configReferencesOf(spec: MicroServiceSpec): ConfigRef[] {
  const refs: ConfigRef[] = [
    ...envRefs(spec.env),
    ...[...(spec.sidecars ?? []), ...(spec.initContainers ?? [])].flatMap((c) => envRefs(c.env)),
    ...(spec.envFrom ?? []).map((source): ConfigRef => {
      const ref = source.configMapRef ?? source.secretRef;
      return {
        kind: source.configMapRef ? 'ConfigMap' : 'Secret',
        name: ref?.name ?? '',
        optional: ref?.optional ?? false,
        roll: source.rollOnChange ?? true,
      };
    }),
    ...(spec.files ?? []).map(
      (file): ConfigRef => ({
        kind: file.configMap !== undefined ? 'ConfigMap' : 'Secret',
        name: file.configMap ?? file.secret ?? '',
        ...(file.items ? { keys: file.items.map((item) => item.key) } : {}),
        optional: file.optional ?? false,
        roll: file.rollOnChange ?? true,
      }),
    ),
  ];
  const merged = new Map<string, ConfigRef>();
  for (const ref of refs) {
    const id = configRefId(ref);
    const seen = merged.get(id);
    if (!seen) {
      merged.set(id, { ...ref, ...(ref.keys ? { keys: [...ref.keys] } : {}) });
      continue;
    }
    const keys = seen.keys && ref.keys ? [...new Set([...seen.keys, ...ref.keys])] : undefined;
    const { keys: _old, ...rest } = seen;
    merged.set(id, {
      ...rest,
      ...(keys ? { keys } : {}),
      optional: seen.optional && ref.optional,
      roll: seen.roll || ref.roll,
    });
  }
  return [...merged.values()].sort((a, b) => configRefId(a).localeCompare(configRefId(b)));
}

/** The SHA-256 of each value of a ConfigMap (data, binaryData) or a Secret (data, base64 as stored). */
export function digestConfigData(object: {
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
}): Record<string, string> {
  const digests: Record<string, string> = {};
  for (const values of [object.data, object.binaryData]) {
    for (const [key, value] of Object.entries(values ?? {})) {
      digests[key] = sha256Hex(value);
    }
  }
  return digests;
}

export interface ConfigHashResult {
  /** The hash for the pod template; undefined when no reference rolls the pods (no annotation at all). */
  hash?: string;
  /** Ids of referenced objects that do not exist and are not optional. */
  missing: string[];
  /** Ids of referenced objects not known yet (neither seen nor confirmed absent). */
  unknown: string[];
}

/**
 * The hash of the data the rolling references read: for each, the digests of the keys read (or of
 * every key), or `absent`. An object that appears, disappears or changes a key read changes the hash.
 */
export function computeConfigHash(
  refs: readonly ConfigRef[],
  lookup: (ref: ConfigRef) => ConfigDigest | undefined,
): ConfigHashResult {
  const missing: string[] = [];
  const unknown: string[] = [];
  const parts: unknown[] = [];
  for (const ref of refs) {
    const digest = lookup(ref);
    if (!digest) unknown.push(configRefId(ref));
    else if (!digest.exists && !ref.optional) missing.push(configRefId(ref));
    if (!ref.roll) continue;
    const keys = digest?.exists
      ? Object.fromEntries(
          Object.entries(digest.keys).filter(([key]) => ref.keys === undefined || ref.keys.includes(key)),
        )
      : 'absent';
    parts.push([configRefId(ref), keys]);
  }
  return { ...(parts.length > 0 ? { hash: canonicalHash(parts, 16) } : {}), missing, unknown };
}
