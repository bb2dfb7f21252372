// Building blocks shared by the three Flotilla schemas. Every helper returns a plain JSON Schema
// that is also a valid Kubernetes *structural* schema: one `type` per node, no `$id`, no `const`,
// `anyOf` only in the int-or-string form the API server accepts.
import { type SchemaOptions, type TSchema, Type } from '@sinclair/typebox';
import type { ObjectMeta } from '../kube/objects.ts';

export type { ObjectMeta };

export const GROUP = 'flotilla.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

/** One CEL rule, as the API server reads it from `x-kubernetes-validations`. */
export interface CelRule {
  rule: string;
  message: string;
  /** Where the error is reported, e.g. `.name`; defaults to the node the rule sits on. */
  fieldPath?: string;
  reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
}

/** Options a Kubernetes schema node may carry beside plain JSON Schema. */
export interface KubeOptions extends SchemaOptions {
  'x-kubernetes-validations'?: CelRule[];
}

/**
 * A Go-style duration as Istio and Argo Rollouts spell it: `500ms`, `30s`, `5m`, `1h`, `1h30m`.
 * At most 6 digits a unit and 16 characters in all, so that CEL's duration() (Go's, which tops out
 * near 2562047h) can always parse what the pattern lets through.
 */
export const DURATION_PATTERN = '^([0-9]{1,6}(\\.[0-9]{1,9})?(ms|s|m|h))+$';

/** DNS-1123 label: what a Service name, a namespace or a label value must be. */
export const DNS1123_LABEL_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';

/** DNS-1123 subdomain: what most object names (and cluster-scoped names) must be. */
export const DNS1123_SUBDOMAIN_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';

/** A Kubernetes resource quantity (`100m`, `128Mi`, `1.5`), the pattern core/v1 uses. */
export const QUANTITY_PATTERN =
  '^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$';

export function Duration(description: string, options: KubeOptions = {}) {
  return Type.String({
    description: `${description} A duration such as 500ms, 30s, 5m or 1h30m.`,
    pattern: DURATION_PATTERN,
    maxLength: 16,
    ...options,
  });
}

export function DnsLabel(description: string, options: KubeOptions = {}) {
  return Type.String({ description, pattern: DNS1123_LABEL_PATTERN, minLength: 1, maxLength: 63, ...options });
}

export function DnsSubdomain(description: string, options: KubeOptions = {}) {
  return Type.String({ description, pattern: DNS1123_SUBDOMAIN_PATTERN, minLength: 1, maxLength: 253, ...options });
}

/** A closed set of strings. TypeBox's own unions would emit `anyOf`, which a structural schema forbids. */
export function StringEnum<const T extends readonly string[]>(values: T, options: KubeOptions = {}) {
  return Type.Unsafe<T[number]>({ ...options, type: 'string', enum: [...values] });
}

/** An integer or a string (`25%`, a port name, a quantity): `x-kubernetes-int-or-string`. */
export function IntOrString(options: KubeOptions = {}) {
  return Type.Unsafe<number | string>({
    ...options,
    'x-kubernetes-int-or-string': true,
    anyOf: [{ type: 'integer' }, { type: 'string' }],
  });
}

/** A map of string keys to values of one schema (labels, resource lists). */
export function StringMap<T extends TSchema>(values: T, options: KubeOptions = {}) {
  return Type.Unsafe<Record<string, T['static']>>({ ...options, type: 'object', additionalProperties: values });
}

export function Quantity(description: string) {
  return IntOrString({ description, pattern: QUANTITY_PATTERN });
}

/** A port number, 1–65535. */
export function PortNumber(description: string, options: KubeOptions = {}) {
  return Type.Integer({ description, minimum: 1, maximum: 65535, ...options });
}

/** metav1.Condition, as `kubectl wait --for=condition=X` reads it. */
export const Condition = Type.Object(
  {
    type: Type.String({
      description: 'Type of the condition in CamelCase, e.g. Ready.',
      maxLength: 316,
      pattern:
        '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$',
    }),
    status: StringEnum(['True', 'False', 'Unknown'] as const, { description: 'True, False or Unknown.' }),
    observedGeneration: Type.Optional(
      Type.Integer({ description: 'The metadata.generation the condition was computed from.', minimum: 0 }),
    ),
    lastTransitionTime: Type.String({
      description: 'When the status last changed from one value to another.',
      format: 'date-time',
    }),
    reason: Type.String({
      description: 'Machine-readable reason for the last transition, in CamelCase.',
      minLength: 1,
      maxLength: 1024,
      pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$',
    }),
    message: Type.String({ description: 'Human-readable details of the last transition.', maxLength: 32768 }),
  },
  { description: 'A standard Kubernetes condition (metav1.Condition).' },
);

export function Conditions(description: string) {
  return Type.Array(Condition, {
    description,
    maxItems: 16,
    'x-kubernetes-list-type': 'map',
    'x-kubernetes-list-map-keys': ['type'],
  });
}

export const ObservedGeneration = Type.Integer({
  description: 'The metadata.generation the controller last acted on; compare with metadata.generation.',
  minimum: 0,
});

/** apiVersion, kind and metadata, as every Kubernetes object has them. */
export function objectHeader() {
  return {
    apiVersion: Type.String({
      description: 'APIVersion defines the versioned schema of this representation of an object.',
    }),
    kind: Type.String({ description: 'Kind is a string value representing the REST resource this object represents.' }),
    // The API server owns the schema of metadata: a CRD may say no more than its type.
    metadata: Type.Unsafe<ObjectMeta>({ type: 'object' }),
  };
}
