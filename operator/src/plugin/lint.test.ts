// lint: every sample is clean; every manifest of the bad-input catalogue is caught, at the line of
// the field; and the checks no single object can make.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { dump } from 'js-yaml';
import { BAD_CREATES } from '../../../e2e/integration/bad-input/catalogue.ts';
import { formatFinding, lintSources, pathSegments } from './lint.ts';

const SAMPLES = new URL('../../../samples/', import.meta.url);

/** The longest start of `path` that exists in `object`. */
function presentPrefix(object: unknown, path: (string | number)[]): (string | number)[] {
  const present: (string | number)[] = [];
  let node = object as Record<string | number, unknown> | undefined;
  for (const segment of path) {
    if (node === null || typeof node !== 'object' || !(segment in node)) break;
    present.push(segment);
    node = node[segment] as Record<string | number, unknown> | undefined;
  }
  return present;
}

describe('lint', () => {
  it('finds nothing wrong in the samples', () => {
    const files = readdirSync(SAMPLES).filter((f) => f.endsWith('.yaml'));
    const report = lintSources(files.map((f) => ({ file: f, text: readFileSync(new URL(f, SAMPLES), 'utf8') })));
    assert.deepEqual(report.findings, []);
    assert.equal(report.checked, 11);
  });

  it('catches a template condition that is not CEL, which the API server lets through', () => {
    const text = [
      'apiVersion: flotilla.dev/v1alpha1',
      'kind: AnalysisTemplate',
      'metadata: {name: rates, namespace: shop}',
      'spec:',
      '  metrics:',
      '    - name: success-rate',
      '      successCondition: result >=',
      '      provider: {web: {url: "http://127.0.0.1/"}}',
    ].join('\n');
    const [finding, ...more] = lintSources([{ file: 't.yaml', text }]).findings;
    assert.deepEqual(more, []);
    assert.equal(finding?.path, 'spec.metrics[0]');
    assert.match(finding?.message ?? '', /metric success-rate: successCondition "result >=" is not valid CEL/);
  });

  for (const { name, manifest, message } of BAD_CREATES) {
    it(`catches ${name}, at the line of the field`, () => {
      const text = dump(manifest);
      const { findings } = lintSources([{ file: 'bad.yaml', text }]);
      const own = findings.filter((f) => !f.message.includes('which is no MicroService'));
      assert.ok(own.length > 0, `nothing found; the API server says ${message}`);
      const lines = text.split('\n');
      for (const finding of own) {
        // The line of the field, or of its nearest ancestor when the field is missing.
        const present = presentPrefix(manifest, pathSegments(finding.path));
        const leaf = present.filter((s) => typeof s === 'string').at(-1);
        const line = lines[finding.line - 1] ?? '';
        if (leaf === undefined) continue;
        assert.ok(
          line.includes(`${leaf}:`) || line.trimStart().startsWith('-'),
          `line ${finding.line} "${line}" is not ${finding.path}`,
        );
      }
    });
  }

  it('points at the line of a field in a flow mapping and in a list', () => {
    const text = [
      'apiVersion: flotilla.dev/v1alpha1',
      'kind: MicroService',
      'metadata: {name: orders, namespace: shop}',
      'spec:',
      '  image: registry.example.com/shop/orders:1.4.2',
      '  ports:',
      '    - {name: http, port: 8002}',
      '    - name: admin',
      '      port: 70000',
    ].join('\n');
    assert.deepEqual(lintSources([{ file: 'orders.yaml', text }]).findings.map(formatFinding), [
      'orders.yaml:9: MicroService shop/orders: spec.ports[1].port: must be <= 65535',
    ]);
  });

  it('checks what no single object can: references, one Rollout a service, rising weights, duplicates', () => {
    const usersRollout = `---
apiVersion: flotilla.dev/v1alpha1
kind: Rollout
metadata: {name: users, namespace: shop}
spec:
  serviceRef: {name: users}
  strategy: {rolling: {}}
`;
    const text = `apiVersion: flotilla.dev/v1alpha1
kind: MicroService
metadata: {name: orders, namespace: shop}
spec:
  image: registry.example.com/shop/orders:1.4.2
  dependsOn: [payments]
---
apiVersion: flotilla.dev/v1alpha1
kind: Rollout
metadata: {name: orders, namespace: shop}
spec:
  serviceRef: {name: orders}
  strategy:
    canary:
      steps:
        - setWeight: 50
        - pause: {}
        - setWeight: 20
---
apiVersion: flotilla.dev/v1alpha1
kind: Rollout
metadata: {name: orders-again, namespace: shop}
spec:
  serviceRef: {name: orders}
  strategy: {rolling: {}}
${usersRollout}${usersRollout}`;
    assert.deepEqual(lintSources([{ file: 'shop.yaml', text }]).findings.map(formatFinding), [
      'shop.yaml:6: MicroService shop/orders: spec.dependsOn[0]: names payments, which is no MicroService of namespace shop',
      "shop.yaml:18: Rollout shop/orders: spec.strategy.canary.steps[2].setWeight: 20 is below the 50 of step 0: a canary's weight only goes up (abort to go back)",
      'shop.yaml:24: Rollout shop/orders-again: spec.serviceRef.name: orders is already released by Rollout orders (shop.yaml:8): one Rollout per service',
      'shop.yaml:31: Rollout shop/users: spec.serviceRef.name: names users, which is no MicroService of namespace shop',
      'shop.yaml:36: Rollout shop/users: metadata.name: Rollout shop/users is also defined at shop.yaml:27',
      'shop.yaml:38: Rollout shop/users: spec.serviceRef.name: names users, which is no MicroService of namespace shop',
      'shop.yaml:38: Rollout shop/users: spec.serviceRef.name: users is already released by Rollout users (shop.yaml:27): one Rollout per service',
    ]);
  });

  it('leaves the checks between objects out when asked (a pre-commit hook given only the changed files)', () => {
    const text =
      'apiVersion: flotilla.dev/v1alpha1\nkind: Rollout\nmetadata: {name: orders}\nspec:\n  serviceRef: {name: orders}\n  strategy: {rolling: {}}\n';
    assert.equal(lintSources([{ file: 'r.yaml', text }]).findings.length, 1);
    assert.deepEqual(lintSources([{ file: 'r.yaml', text }], { references: false }).findings, []);
  });

  it('reports a file that is not YAML at its line, and passes over other kinds', () => {
    const report = lintSources([
      { file: 'broken.yaml', text: 'kind: MicroService\nspec: [unclosed\n' },
      { file: 'ns.yaml', text: 'apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n' },
      { file: 'typo.yaml', text: 'apiVersion: flotilla.dev/v1alpha1\nkind: MicroServce\nmetadata: {name: a}\n' },
    ]);
    assert.equal(report.skipped, 1);
    assert.deepEqual(
      report.findings.map((f) => `${f.file}:${f.line}:${f.path}`),
      ['broken.yaml:3:<root>', 'typo.yaml:2:kind'],
    );
    assert.match(report.findings[0]?.message ?? '', /^not YAML: /);
  });

  it('reads field paths', () => {
    assert.deepEqual(pathSegments('spec.ports[0].name'), ['spec', 'ports', 0, 'name']);
    assert.deepEqual(pathSegments('<root>'), []);
  });
});
