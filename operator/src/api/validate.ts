// ajv validation against the same schemas the CRDs are generated from. It checks the structure,
// types, patterns, ranges and enums; the CEL rules (`x-kubernetes-validations`) are carried along
// but evaluated only by the API server.
import type { TSchema } from '@sinclair/typebox';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { type DatabaseServer, DatabaseServerSchema } from './databaseserver.ts';
import { type MicroService, MicroServiceSchema } from './microservice.ts';
import { type Rollout, RolloutSchema } from './rollout.ts';

export type ValidationResult<T> = { valid: true; value: T } | { valid: false; errors: string[] };

// ajv-formats is CommonJS with a default export; under NodeNext its type is the module namespace.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

const KUBERNETES_KEYWORDS = [
  'x-kubernetes-validations',
  'x-kubernetes-int-or-string',
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-map-type',
  'x-kubernetes-embedded-resource',
];

function createAjv(): Ajv {
  const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false });
  addFormats(ajv);
  for (const keyword of KUBERNETES_KEYWORDS) ajv.addKeyword({ keyword });
  return ajv;
}

const ajv = createAjv();

function validator<T>(schema: TSchema): (object: unknown) => ValidationResult<T> {
  let compiled: ValidateFunction | undefined;
  return (object) => {
    compiled ??= ajv.compile(JSON.parse(JSON.stringify(schema)));
    if (compiled(object)) return { valid: true, value: object as T };
    return { valid: false, errors: formatErrors(compiled.errors ?? []) };
  };
}

export const validateMicroService = validator<MicroService>(MicroServiceSchema);
export const validateRollout = validator<Rollout>(RolloutSchema);
export const validateDatabaseServer = validator<DatabaseServer>(DatabaseServerSchema);

/** `/spec/ports/0/name` → `spec.ports[0].name`. */
export function fieldPath(instancePath: string): string {
  const segments = instancePath.split('/').slice(1);
  let path = '';
  for (const raw of segments) {
    const segment = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    path += /^\d+$/.test(segment) ? `[${segment}]` : path === '' ? segment : `.${segment}`;
  }
  return path || '<root>';
}

/** One readable line per problem, e.g. `spec.replicas: must be >= 0`. */
export function formatErrors(errors: readonly ErrorObject[]): string[] {
  const lines: string[] = [];
  for (const error of errors) {
    const line = formatError(error);
    if (line !== undefined && !lines.includes(line)) lines.push(line);
  }
  return lines;
}

function formatError(error: ErrorObject): string | undefined {
  const at = fieldPath(error.instancePath);
  switch (error.keyword) {
    case 'required': {
      const missing = (error.params as { missingProperty: string }).missingProperty;
      return `${at === '<root>' ? missing : `${at}.${missing}`}: is required`;
    }
    case 'enum': {
      const allowed = (error.params as { allowedValues: unknown[] }).allowedValues;
      return `${at}: must be one of ${allowed.map((value) => JSON.stringify(value)).join(', ')}`;
    }
    case 'anyOf':
      // The int-or-string branches have already said "must be integer" / "must be string".
      return `${at}: must be an integer or a string`;
    case 'type':
      if (isIntOrStringBranch(error)) return;
      return `${at}: ${error.message}`;
    default:
      return `${at}: ${error.message}`;
  }
}

function isIntOrStringBranch(error: ErrorObject): boolean {
  return /\/anyOf\/\d+\/type$/.test(error.schemaPath);
}
