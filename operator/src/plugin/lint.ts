// `kubectl flotilla lint`: Flotilla manifests checked offline with the operator's own validator (the
// CRDs' schemas and CEL rules, as the API server applies them), then what no single object can
// check: references between them. Pure: sources in, findings out.

import { checkConditions } from '../analysis/evaluate.ts';
import type { AnalysisTemplate } from '../api/analysis.ts';
import { API_VERSION, GROUP } from '../api/common.ts';
import type { MicroService } from '../api/microservice.ts';
import type { Rollout } from '../api/rollout.ts';
import {
  type ValidationResult,
  validateAnalysisTemplate,
  validateClusterAnalysisTemplate,
  validateDatabaseServer,
  validateMicroService,
  validateRollout,
} from '../api/validate.ts';
import { type LocatedDocument, parseLocated } from './yaml-positions.ts';

export interface LintSource {
  file: string;
  text: string;
}

export interface LintFinding {
  file: string;
  line: number;
  /** `MicroService shop/orders`, or empty when the file itself is unreadable. */
  object: string;
  /** `spec.ports[0].port`, `<root>` for the object as a whole. */
  path: string;
  message: string;
}

export interface LintReport {
  findings: LintFinding[];
  /** Flotilla objects checked. */
  checked: number;
  /** Other objects (Namespaces, Secrets, ...) passed over. */
  skipped: number;
}

type Validator = (object: unknown) => ValidationResult<unknown>;

/**
 * A template's schema, then what the API server cannot check: that each condition is CEL (the
 * operator would otherwise find out only when a release asks for the template).
 */
const withConditionsChecked =
  (validate: Validator): Validator =>
  (object) => {
    const result = validate(object);
    if (!result.valid) return result;
    const errors = (result.value as AnalysisTemplate).spec.metrics.flatMap((metric, index) => {
      const problem = checkConditions(metric);
      return problem ? [`spec.metrics[${index}]: ${problem}`] : [];
    });
    return errors.length > 0 ? { valid: false, errors } : result;
  };

const VALIDATORS: Record<string, Validator> = {
  MicroService: validateMicroService,
  Rollout: validateRollout,
  DatabaseServer: validateDatabaseServer,
  AnalysisTemplate: withConditionsChecked(validateAnalysisTemplate),
  ClusterAnalysisTemplate: withConditionsChecked(validateClusterAnalysisTemplate),
};

interface Located {
  file: string;
  document: LocatedDocument;
  kind: string;
  namespace: string;
  name: string;
  object: Record<string, unknown>;
}

/** `spec.ports[0].name` → ['spec', 'ports', 0, 'name']. */
export function pathSegments(path: string): (string | number)[] {
  if (path === '<root>' || path === '') return [];
  const segments: (string | number)[] = [];
  for (const match of path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) {
    segments.push(match[2] === undefined ? (match[1] ?? '') : Number(match[2]));
  }
  return segments;
}

export interface LintOptions {
  /** The checks between objects (default true); off when only some of the files are given. */
  references?: boolean;
}

export function lintSources(sources: readonly LintSource[], options: LintOptions = {}): LintReport {
  const findings: LintFinding[] = [];
  const objects: Located[] = [];
  let skipped = 0;
  for (const { file, text } of sources) {
    let documents: LocatedDocument[];
    try {
      documents = parseLocated(text, file);
    } catch (error) {
      const mark = (error as { mark?: { line?: number } }).mark;
      const reason = (error as { reason?: string }).reason ?? String(error);
      findings.push({ file, line: (mark?.line ?? 0) + 1, object: '', path: '<root>', message: `not YAML: ${reason}` });
      continue;
    }
    for (const document of documents) {
      const located = identify(file, document, findings);
      if (located === 'skip') skipped++;
      else if (located) objects.push(located);
    }
  }
  for (const located of objects) findings.push(...validateOne(located));
  if (options.references !== false) findings.push(...crossCheck(objects));
  findings.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line);
  return { findings, checked: objects.length, skipped };
}

/** What a document is: a Flotilla object to check, something else to pass over, or (undefined) an error found. */
function identify(file: string, document: LocatedDocument, findings: LintFinding[]): Located | 'skip' | undefined {
  const { value } = document;
  if (value === null || value === undefined) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) {
    findings.push({
      file,
      line: document.line,
      object: '',
      path: '<root>',
      message: 'a manifest must be a mapping',
    });
    return undefined;
  }
  const object = value as Record<string, unknown>;
  const apiVersion = String(object.apiVersion ?? '');
  if (!apiVersion.startsWith(`${GROUP}/`)) return 'skip';
  const kind = String(object.kind ?? '');
  const metadata = (object.metadata ?? {}) as { name?: unknown; namespace?: unknown };
  const name = typeof metadata.name === 'string' ? metadata.name : '';
  const namespace = typeof metadata.namespace === 'string' ? metadata.namespace : '';
  const label = `${kind || '(no kind)'} ${namespace ? `${namespace}/` : ''}${name || '(no name)'}`;
  const at = (path: string, message: string): undefined => {
    findings.push({ file, line: document.lineOf(pathSegments(path)), object: label, path, message });
    return undefined;
  };
  if (apiVersion !== API_VERSION) return at('apiVersion', `must be ${API_VERSION}`);
  if (!VALIDATORS[kind]) return at('kind', `must be one of ${Object.keys(VALIDATORS).join(', ')}`);
  if (!name) return at('metadata.name', 'is required');
  return { file, document, kind, namespace, name, object };
}

function labelOf(located: Located): string {
  return `${located.kind} ${located.namespace ? `${located.namespace}/` : ''}${located.name}`;
}

function finding(located: Located, path: string, message: string): LintFinding {
  return {
    file: located.file,
    line: located.document.lineOf(pathSegments(path)),
    object: labelOf(located),
    path,
    message,
  };
}

function validateOne(located: Located): LintFinding[] {
  const result = VALIDATORS[located.kind]?.(located.object);
  if (!result || result.valid) return [];
  return result.errors.map((error) => {
    const colon = error.indexOf(': ');
    return colon < 0
      ? finding(located, '<root>', error)
      : finding(located, error.slice(0, colon), error.slice(colon + 2));
  });
}

/** References between objects: services named by Rollouts and dependsOn, one Rollout a service, weights. */
function crossCheck(objects: readonly Located[]): LintFinding[] {
  const findings: LintFinding[] = [];
  const seen = new Map<string, Located>();
  for (const located of objects) {
    const key = `${located.kind}/${located.namespace}/${located.name}`;
    const first = seen.get(key);
    if (first)
      findings.push(finding(located, 'metadata.name', `${labelOf(located)} is also defined at ${where(first)}`));
    else seen.set(key, located);
  }
  const services = new Set(objects.filter((o) => o.kind === 'MicroService').map((o) => `${o.namespace}/${o.name}`));
  const inNamespace = (namespace: string) => (namespace ? `namespace ${namespace}` : 'the files');
  const releasedBy = new Map<string, Located>();
  for (const located of objects) {
    if (located.kind === 'MicroService') {
      const dependsOn = (located.object as unknown as MicroService).spec?.dependsOn ?? [];
      dependsOn.forEach((dependency, index) => {
        if (typeof dependency === 'string' && !services.has(`${located.namespace}/${dependency}`)) {
          findings.push(
            finding(
              located,
              `spec.dependsOn[${index}]`,
              `names ${dependency}, which is no MicroService of ${inNamespace(located.namespace)}`,
            ),
          );
        }
      });
    }
    if (located.kind !== 'Rollout') continue;
    const spec = (located.object as unknown as Rollout).spec;
    const service = spec?.serviceRef?.name;
    if (typeof service === 'string') {
      const key = `${located.namespace}/${service}`;
      if (!services.has(key)) {
        findings.push(
          finding(
            located,
            'spec.serviceRef.name',
            `names ${service}, which is no MicroService of ${inNamespace(located.namespace)}`,
          ),
        );
      }
      const other = releasedBy.get(key);
      if (other) {
        findings.push(
          finding(
            located,
            'spec.serviceRef.name',
            `${service} is already released by Rollout ${other.name} (${where(other)}): one Rollout per service`,
          ),
        );
      } else releasedBy.set(key, located);
    }
    findings.push(...weightsGoingDown(located, spec));
  }
  return findings;
}

function weightsGoingDown(located: Located, spec: Rollout['spec'] | undefined): LintFinding[] {
  const steps = spec?.strategy?.canary?.steps;
  if (!Array.isArray(steps)) return [];
  const findings: LintFinding[] = [];
  let highest: { weight: number; index: number } | undefined;
  steps.forEach((step, index) => {
    const weight = step?.setWeight;
    if (typeof weight !== 'number') return;
    if (highest && weight < highest.weight) {
      findings.push(
        finding(
          located,
          `spec.strategy.canary.steps[${index}].setWeight`,
          `${weight} is below the ${highest.weight} of step ${highest.index}: a canary's weight only goes up (abort to go back)`,
        ),
      );
    }
    if (!highest || weight >= highest.weight) highest = { weight, index };
  });
  return findings;
}

function where(located: Located): string {
  return `${located.file}:${located.document.line}`;
}

/** `file:line: object: path: message`, the shape editors and CI logs link. */
export function formatFinding(f: LintFinding): string {
  const object = f.object ? `${f.object}: ` : '';
  const path = f.path === '<root>' ? '' : `${f.path}: `;
  return `${f.file}:${f.line}: ${object}${path}${f.message}`;
}
