// ajv validation against the same schemas the CRDs are generated from: structure, types, patterns,
// ranges, enums, list uniqueness and the CEL rules (`x-kubernetes-validations`), so that it answers
// as the API server does. Transition rules (immutable fields) need the stored object: only the API
// server checks those.
import type { TSchema } from '@sinclair/typebox';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { DataValidateFunction } from 'ajv/dist/types/index.js';
import addFormatsModule from 'ajv-formats';
import { type AnalysisTemplate, AnalysisTemplateSchema, ClusterAnalysisTemplateSchema } from './analysis.ts';
import { compileRules } from './cel.ts';
import type { CelRule } from './common.ts';
import { type DatabaseServer, DatabaseServerSchema } from './databaseserver.ts';
import { type MicroService, MicroServiceSchema } from './microservice.ts';
import { type Rollout, RolloutSchema } from './rollout.ts';

export type ValidationResult<T> = { valid: true; value: T } | { valid: false; errors: string[] };

// ajv-formats is CommonJS with a default export; under NodeNext its type is the module namespace.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

/** Keywords that only annotate the schema for the API server. */
const KUBERNETES_KEYWORDS = [
  'x-kubernetes-int-or-string',
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-map-type',
  'x-kubernetes-embedded-resource',
];

function createAjv(): Ajv {
  const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false });
  addFormats(ajv);
  for (const keyword of KUBERNETES_KEYWORDS) ajv.addKeyword({ keyword });
  ajv.addKeyword({ keyword: 'x-kubernetes-validations', errors: true, compile: compileCelKeyword });
  ajv.addKeyword({ keyword: 'x-kubernetes-list-type', errors: true, compile: compileListTypeKeyword });
  return ajv;
}

type KeywordError = Partial<ErrorObject>;

function failing(validate: DataValidateFunction, errors: KeywordError[]): boolean {
  validate.errors = errors;
  return errors.length === 0;
}

function compileCelKeyword(rules: CelRule[]): DataValidateFunction {
  const check = compileRules(rules);
  const validate: DataValidateFunction = (data, context) =>
    failing(
      validate,
      check(data).map((failure) => ({
        keyword: 'x-kubernetes-validations',
        instancePath: (context?.instancePath ?? '') + failure.pointer,
        params: { rule: failure.rule },
        message: failure.message,
      })),
    );
  return validate;
}

/** `set`: no item twice; `map`: no two items with the same keys. The API server answers "Duplicate value". */
function compileListTypeKeyword(listType: string, parentSchema: Record<string, unknown>): DataValidateFunction {
  const keys = (parentSchema['x-kubernetes-list-map-keys'] ?? []) as string[];
  const identity = (item: unknown): string =>
    listType === 'map'
      ? JSON.stringify(keys.map((key) => (item as Record<string, unknown>)[key]))
      : JSON.stringify(item);
  const validate: DataValidateFunction = (data, context) => {
    if (listType === 'atomic' || !Array.isArray(data)) return true;
    const seen = new Set<string>();
    const errors: KeywordError[] = [];
    data.forEach((item, index) => {
      const id = identity(item);
      if (seen.has(id)) {
        errors.push({
          keyword: 'x-kubernetes-list-type',
          instancePath: `${context?.instancePath ?? ''}/${index}`,
          params: { listType },
          message: `Duplicate value: ${listType === 'map' ? id : JSON.stringify(item)}`,
        });
      }
      seen.add(id);
    });
    return failing(validate, errors);
  };
  return validate;
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
export const validateAnalysisTemplate = validator<AnalysisTemplate>(AnalysisTemplateSchema);
export const validateClusterAnalysisTemplate = validator<AnalysisTemplate>(ClusterAnalysisTemplateSchema);

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
