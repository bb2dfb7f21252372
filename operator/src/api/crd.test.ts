import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Type } from '@sinclair/typebox';
import { buildAllCrds, buildCrd, type JsonSchema, RESOURCES, structuralProblems, toStructuralSchema } from './crd.ts';

type Crd = {
  metadata: { name: string };
  spec: {
    scope: string;
    names: { kind: string; shortNames?: string[]; categories: string[] };
    versions: {
      name: string;
      schema: { openAPIV3Schema: JsonSchema };
      subresources: Record<string, unknown>;
      additionalPrinterColumns: { name: string }[];
    }[];
  };
};

const crds = buildAllCrds() as unknown as Crd[];
const byKind = (kind: string): Crd => {
  const crd = crds.find((candidate) => candidate.spec.names.kind === kind);
  assert.ok(crd, `no CRD for ${kind}`);
  return crd;
};
const version = (kind: string) => {
  const first = byKind(kind).spec.versions[0];
  assert.ok(first);
  return first;
};

/** Every schema node, with its path, depth first. */
function* nodes(node: JsonSchema, path = ''): Generator<[string, JsonSchema]> {
  yield [path, node];
  for (const [name, child] of Object.entries((node.properties ?? {}) as Record<string, JsonSchema>)) {
    yield* nodes(child, `${path}.${name}`);
  }
  if (typeof node.items === 'object' && node.items) yield* nodes(node.items as JsonSchema, `${path}[]`);
  if (typeof node.additionalProperties === 'object' && node.additionalProperties) {
    yield* nodes(node.additionalProperties as JsonSchema, `${path}{}`);
  }
}

describe('buildAllCrds', () => {
  it('builds the six CRDs of flotilla.dev/v1alpha1', () => {
    assert.deepEqual(
      crds.map((crd) => crd.metadata.name),
      [
        'microservices.flotilla.dev',
        'rollouts.flotilla.dev',
        'databaseservers.flotilla.dev',
        'analysistemplates.flotilla.dev',
        'clusteranalysistemplates.flotilla.dev',
        'analysisruns.flotilla.dev',
      ],
    );
    for (const crd of crds) assert.equal(crd.spec.versions[0]?.name, 'v1alpha1');
  });

  it('puts all six in the flotilla category and none in all', () => {
    for (const crd of crds) assert.deepEqual(crd.spec.names.categories, ['flotilla']);
  });

  it('gives MicroService the short name ms and makes DatabaseServer cluster-scoped', () => {
    assert.deepEqual(byKind('MicroService').spec.names.shortNames, ['ms']);
    assert.equal(byKind('MicroService').spec.scope, 'Namespaced');
    assert.equal(byKind('Rollout').spec.scope, 'Namespaced');
    assert.equal(byKind('DatabaseServer').spec.scope, 'Cluster');
  });

  it('has the status subresource on all but the templates and scale on MicroService only', () => {
    const templates = ['AnalysisTemplate', 'ClusterAnalysisTemplate'];
    for (const crd of crds) {
      const expected = templates.includes(crd.spec.names.kind) ? undefined : {};
      assert.deepEqual(crd.spec.versions[0]?.subresources.status, expected);
    }
    assert.deepEqual(version('MicroService').subresources.scale, {
      specReplicasPath: '.spec.replicas',
      statusReplicasPath: '.status.replicas',
      labelSelectorPath: '.status.selector',
    });
    assert.equal(version('Rollout').subresources.scale, undefined);
  });

  it('has the printer columns of the issue', () => {
    const columns = (kind: string) => version(kind).additionalPrinterColumns.map((column) => column.name);
    assert.deepEqual(columns('MicroService'), ['Image', 'Ready', 'Replicas', 'Age']);
    assert.deepEqual(columns('Rollout'), ['Strategy', 'Phase', 'Step', 'Weight', 'Age']);
    assert.deepEqual(columns('DatabaseServer'), ['Engine', 'Host', 'Ready', 'Services', 'Age']);
    assert.deepEqual(columns('AnalysisRun'), ['Gate', 'Phase', 'Passed', 'Failed', 'Message', 'Age']);
  });

  it('writes plain JSON: no TypeBox symbols, no $id', () => {
    for (const resource of RESOURCES) {
      const schema = toStructuralSchema(resource.schema);
      assert.equal(Object.getOwnPropertySymbols(schema).length, 0);
      assert.doesNotMatch(JSON.stringify(schema), /"\$id"|"\$schema"|"const"/);
    }
  });

  it('bounds every list and every string a CEL rule reads, so the API server accepts the rules’ cost', () => {
    for (const crd of crds) {
      for (const [path, node] of nodes(version(crd.spec.names.kind).schema.openAPIV3Schema)) {
        if (!node['x-kubernetes-validations']) continue;
        if (node.type === 'array')
          assert.ok(node.maxItems, `${crd.metadata.name} ${path}: list with rules has no maxItems`);
        if (node.type === 'string')
          assert.ok(node.maxLength, `${crd.metadata.name} ${path}: string with rules has no maxLength`);
      }
    }
  });

  it('describes every field, for kubectl explain', () => {
    const retries = version('MicroService').schema.openAPIV3Schema;
    const path = ['spec', 'traffic', 'retries'];
    let node: JsonSchema = retries;
    for (const name of path) node = (node.properties as Record<string, JsonSchema>)[name] as JsonSchema;
    assert.match(String(node.description), /[Rr]etries/);
    for (const child of Object.values(node.properties as Record<string, JsonSchema>)) {
      assert.ok(typeof child.description === 'string' && child.description.length > 10);
    }
  });

  it('defaults what the API server can default', () => {
    const spec = (kind: string) =>
      (version(kind).schema.openAPIV3Schema.properties as Record<string, JsonSchema>).spec as JsonSchema;
    const at = (root: JsonSchema, ...path: string[]) =>
      path.reduce((node, name) => (node.properties as Record<string, JsonSchema>)[name] as JsonSchema, root);
    assert.equal(at(spec('MicroService'), 'replicas').default, 1);
    assert.equal(at(spec('MicroService'), 'database', 'reclaimPolicy').default, 'Retain');
    assert.equal(at(spec('MicroService'), 'database', 'instance').default, 'shared');
    assert.equal(
      at(spec('MicroService'), 'database', 'storage').default,
      undefined,
      'only dedicated instances have storage',
    );
    assert.equal(at(spec('MicroService'), 'traffic', 'retries', 'retryOn').default, '5xx,reset,connect-failure');
    assert.equal(at(spec('Rollout'), 'strategy', 'canary', 'trafficRouting').default, 'auto');
    assert.equal(at(spec('Rollout'), 'strategy', 'canary', 'progressDeadlineSeconds').default, 600);
    assert.equal(at(spec('Rollout'), 'strategy', 'canary', 'scaleDownDelaySeconds').default, 30);
  });
});

const byKind0 = () => {
  const first = RESOURCES[0];
  assert.ok(first);
  return first;
};

describe('structuralProblems', () => {
  const problems = (schema: JsonSchema) => structuralProblems(schema, '');

  it('accepts a typed, described tree', () => {
    assert.deepEqual(problems({ type: 'object', properties: { a: { type: 'string', description: 'A.' } } }), []);
  });

  it('names each offence by path', () => {
    assert.deepEqual(
      problems({
        type: 'object',
        $id: 'x',
        properties: {
          a: { description: 'no type' },
          b: { type: 'string', description: 'B.', anyOf: [{ type: 'string' }] },
          c: { type: 'object', description: 'C.', properties: {}, additionalProperties: false },
          d: { type: 'string' },
        },
      }),
      [
        '<root>: $id is not allowed',
        '.a: no type',
        '.b: anyOf is only allowed for x-kubernetes-int-or-string',
        '.c: additionalProperties: false is not allowed',
        '.c: additionalProperties and properties are mutually exclusive',
        '.d: no description',
      ],
    );
  });

  it('lets metadata declare only name and generateName', () => {
    assert.deepEqual(problems({ type: 'object', properties: { metadata: { type: 'object', description: 'x' } } }), [
      '.metadata: may only declare name and generateName',
    ]);
  });

  it('refuses a TypeBox union, which would come out as anyOf', () => {
    const schema = Type.Object({ a: Type.Union([Type.String(), Type.Number()], { description: 'A.' }) });
    assert.throws(() => buildCrd({ ...byKind0(), schema }), /anyOf is only allowed for x-kubernetes-int-or-string/);
  });
});
