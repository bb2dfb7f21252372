// The CustomResourceDefinitions, built from the TypeBox schemas by pure functions.
import type { TSchema } from '@sinclair/typebox';
import {
  ANALYSIS_RUN_KIND,
  ANALYSIS_RUN_PLURAL,
  ANALYSIS_TEMPLATE_KIND,
  ANALYSIS_TEMPLATE_PLURAL,
  AnalysisRunSchema,
  AnalysisTemplateSchema,
  CLUSTER_ANALYSIS_TEMPLATE_KIND,
  CLUSTER_ANALYSIS_TEMPLATE_PLURAL,
  ClusterAnalysisTemplateSchema,
} from './analysis.ts';
import { GROUP, VERSION } from './common.ts';
import { DATABASESERVER_KIND, DATABASESERVER_PLURAL, DatabaseServerSchema } from './databaseserver.ts';
import { MICROSERVICE_KIND, MICROSERVICE_PLURAL, MicroServiceSchema } from './microservice.ts';
import { ROLLOUT_KIND, ROLLOUT_PLURAL, RolloutSchema } from './rollout.ts';

export const CATEGORY = 'flotilla';

/** A JSON Schema node as the API server reads it (apiextensions.k8s.io/v1 JSONSchemaProps). */
export type JsonSchema = { [key: string]: unknown };

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description: string;
  priority?: number;
}

export interface ResourceDefinition {
  kind: string;
  plural: string;
  scope: 'Namespaced' | 'Cluster';
  shortNames: string[];
  schema: TSchema;
  printerColumns: PrinterColumn[];
  /** The scale subresource, for resources `kubectl scale` and autoscalers may resize. */
  scale?: { specReplicasPath: string; statusReplicasPath: string; labelSelectorPath: string };
  /** Whether the resource has a status subresource (default true). */
  status?: boolean;
}

const age: PrinterColumn = {
  name: 'Age',
  type: 'date',
  jsonPath: '.metadata.creationTimestamp',
  description: 'Time since the object was created.',
};
const ready: PrinterColumn = {
  name: 'Ready',
  type: 'string',
  jsonPath: '.status.conditions[?(@.type=="Ready")].status',
  description: 'Status of the Ready condition.',
};

export const RESOURCES: readonly ResourceDefinition[] = [
  {
    kind: MICROSERVICE_KIND,
    plural: MICROSERVICE_PLURAL,
    scope: 'Namespaced',
    shortNames: ['ms'],
    schema: MicroServiceSchema,
    printerColumns: [
      { name: 'Image', type: 'string', jsonPath: '.spec.image', description: 'The container image.' },
      ready,
      { name: 'Replicas', type: 'integer', jsonPath: '.status.replicas', description: 'Pods of the service.' },
      age,
    ],
    scale: {
      specReplicasPath: '.spec.replicas',
      statusReplicasPath: '.status.replicas',
      labelSelectorPath: '.status.selector',
    },
  },
  {
    kind: ROLLOUT_KIND,
    plural: ROLLOUT_PLURAL,
    scope: 'Namespaced',
    shortNames: [],
    schema: RolloutSchema,
    printerColumns: [
      { name: 'Strategy', type: 'string', jsonPath: '.status.strategy', description: 'Canary, BlueGreen or Rolling.' },
      { name: 'Phase', type: 'string', jsonPath: '.status.phase', description: 'Phase of the release.' },
      { name: 'Step', type: 'integer', jsonPath: '.status.currentStepIndex', description: 'Current canary step.' },
      {
        name: 'Weight',
        type: 'integer',
        jsonPath: '.status.canaryWeight',
        description: 'Traffic % to the new version.',
      },
      age,
    ],
  },
  {
    kind: DATABASESERVER_KIND,
    plural: DATABASESERVER_PLURAL,
    scope: 'Cluster',
    shortNames: ['dbs'],
    schema: DatabaseServerSchema,
    printerColumns: [
      { name: 'Engine', type: 'string', jsonPath: '.spec.engine', description: 'postgres, mysql or redis.' },
      { name: 'Host', type: 'string', jsonPath: '.spec.host', description: 'Host of the server.' },
      ready,
      {
        name: 'Services',
        type: 'integer',
        jsonPath: '.status.services',
        description: 'MicroServices using the server from allowed namespaces.',
      },
      age,
    ],
  },
  {
    kind: ANALYSIS_TEMPLATE_KIND,
    plural: ANALYSIS_TEMPLATE_PLURAL,
    scope: 'Namespaced',
    shortNames: [],
    schema: AnalysisTemplateSchema,
    printerColumns: [age],
    status: false,
  },
  {
    kind: CLUSTER_ANALYSIS_TEMPLATE_KIND,
    plural: CLUSTER_ANALYSIS_TEMPLATE_PLURAL,
    scope: 'Cluster',
    shortNames: [],
    schema: ClusterAnalysisTemplateSchema,
    printerColumns: [age],
    status: false,
  },
  {
    kind: ANALYSIS_RUN_KIND,
    plural: ANALYSIS_RUN_PLURAL,
    scope: 'Namespaced',
    shortNames: [],
    schema: AnalysisRunSchema,
    printerColumns: [
      {
        name: 'Gate',
        type: 'string',
        jsonPath: '.spec.gate',
        description: 'Step, Background, PrePromotion or PostPromotion.',
      },
      { name: 'Phase', type: 'string', jsonPath: '.status.phase', description: 'Phase of the analysis.' },
      { name: 'Passed', type: 'integer', jsonPath: '.status.metricsPassed', description: 'Metrics that passed.' },
      { name: 'Failed', type: 'integer', jsonPath: '.status.metricsFailed', description: 'Metrics that failed.' },
      { name: 'Message', type: 'string', jsonPath: '.status.message', description: 'Why.', priority: 1 },
      age,
    ],
  },
];

/** Keywords a structural schema must not hold (the API server rejects them, or they mean nothing there). */
const FORBIDDEN_KEYWORDS = ['$id', '$schema', '$ref', 'const', 'oneOf', 'allOf', 'not', 'patternProperties'];

/**
 * The schema as plain JSON (TypeBox's symbols dropped), checked against the rules of a Kubernetes
 * structural schema. Throws, naming every offending path, when it is not one.
 */
export function toStructuralSchema(schema: TSchema): JsonSchema {
  const plain = JSON.parse(JSON.stringify(schema)) as JsonSchema;
  const problems = structuralProblems(plain, '');
  if (problems.length > 0) {
    throw new Error(`not a structural schema:\n${problems.join('\n')}`);
  }
  return readableOrder(plain);
}

const FIRST_KEYS = ['type', 'description'];
const LAST_KEYS = ['required', 'properties', 'items', 'additionalProperties'];

/** The same schema with `type` and `description` first and the children last, for people reading the YAML. */
function readableOrder(node: JsonSchema): JsonSchema {
  const keys = Object.keys(node);
  const middle = keys.filter((key) => !FIRST_KEYS.includes(key) && !LAST_KEYS.includes(key));
  const ordered: JsonSchema = {};
  for (const key of [...FIRST_KEYS, ...middle, ...LAST_KEYS]) {
    if (!(key in node)) continue;
    const value = node[key];
    if (key === 'properties') {
      ordered[key] = Object.fromEntries(
        Object.entries(value as Record<string, JsonSchema>).map(([name, child]) => [name, readableOrder(child)]),
      );
    } else if ((key === 'items' || key === 'additionalProperties') && isSchema(value)) {
      ordered[key] = readableOrder(value);
    } else {
      ordered[key] = value;
    }
  }
  return ordered;
}

export function structuralProblems(node: JsonSchema, path: string): string[] {
  const here = path || '<root>';
  const problems: string[] = [];
  for (const keyword of FORBIDDEN_KEYWORDS) {
    if (keyword in node) problems.push(`${here}: ${keyword} is not allowed`);
  }
  const intOrString = node['x-kubernetes-int-or-string'] === true;
  const preserve = node['x-kubernetes-preserve-unknown-fields'] === true;
  if (!('type' in node) && !intOrString && !preserve) problems.push(`${here}: no type`);
  if ('anyOf' in node && !intOrString) problems.push(`${here}: anyOf is only allowed for x-kubernetes-int-or-string`);
  if (path === '.metadata') {
    const declared = Object.keys((node.properties ?? {}) as object);
    const allowed = Object.keys(node).every((key) => key === 'type' || key === 'properties');
    if (!allowed || declared.some((name) => name !== 'name' && name !== 'generateName')) {
      problems.push(`${here}: may only declare name and generateName`);
    }
    return problems;
  }
  if (typeof node.description !== 'string' || node.description === '') {
    if (path !== '' && !isListItem(path)) problems.push(`${here}: no description`);
  }
  if ('additionalProperties' in node) {
    if (node.additionalProperties === false) problems.push(`${here}: additionalProperties: false is not allowed`);
    if ('properties' in node) problems.push(`${here}: additionalProperties and properties are mutually exclusive`);
  }
  const properties = (node.properties ?? {}) as Record<string, JsonSchema>;
  for (const [name, child] of Object.entries(properties)) {
    problems.push(...structuralProblems(child, `${path}.${name}`));
  }
  if (isSchema(node.items)) problems.push(...structuralProblems(node.items, `${path}[]`));
  if (isSchema(node.additionalProperties)) problems.push(...structuralProblems(node.additionalProperties, `${path}{}`));
  return problems;
}

function isSchema(value: unknown): value is JsonSchema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Items of a list are described by the list itself (kubectl explain shows the list's description). */
function isListItem(path: string): boolean {
  return path.endsWith('[]') || path.endsWith('{}');
}

/** The CustomResourceDefinition of one resource, as `kubectl apply` takes it. */
export function buildCrd(resource: ResourceDefinition): JsonSchema {
  const singular = resource.kind.toLowerCase();
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${resource.plural}.${GROUP}`,
      labels: { 'app.kubernetes.io/name': 'flotilla', 'app.kubernetes.io/part-of': 'flotilla' },
    },
    spec: {
      group: GROUP,
      scope: resource.scope,
      names: {
        kind: resource.kind,
        listKind: `${resource.kind}List`,
        plural: resource.plural,
        singular,
        ...(resource.shortNames.length > 0 ? { shortNames: resource.shortNames } : {}),
        categories: [CATEGORY],
      },
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          schema: { openAPIV3Schema: toStructuralSchema(resource.schema) },
          subresources: {
            ...(resource.status === false ? {} : { status: {} }),
            ...(resource.scale ? { scale: resource.scale } : {}),
          },
          additionalPrinterColumns: resource.printerColumns,
        },
      ],
    },
  };
}

export function buildAllCrds(): JsonSchema[] {
  return RESOURCES.map(buildCrd);
}
