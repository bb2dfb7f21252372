import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { adoptionAllowed, checkNamespaceAllowed, labelSelectorMatches, type TenancySpec } from './tenancy.ts';

const server = (spec: Omit<TenancySpec, 'adminSecretRef'>): TenancySpec => ({
  adminSecretRef: { namespace: 'flotilla-system' },
  ...spec,
});

describe('checkNamespaceAllowed', () => {
  const cases: [string, TenancySpec, string, Record<string, string> | undefined, boolean][] = [
    // [what, spec, namespace, its labels, allowed]
    ['no allowedNamespaces: every namespace (as before the field existed)', server({}), 'shop', {}, true],
    ['from All', server({ allowedNamespaces: { from: 'All' } }), 'anyone', undefined, true],
    [
      'from Same: the admin Secret’s namespace',
      server({ allowedNamespaces: { from: 'Same' } }),
      'flotilla-system',
      {},
      true,
    ],
    ['from Same: another namespace', server({ allowedNamespaces: { from: 'Same' } }), 'shop', {}, false],
    [
      'Selector: matching labels',
      server({ allowedNamespaces: { from: 'Selector', selector: { matchLabels: { team: 'shop' } } } }),
      'shop',
      { team: 'shop', other: 'x' },
      true,
    ],
    [
      'Selector: another value',
      server({ allowedNamespaces: { from: 'Selector', selector: { matchLabels: { team: 'shop' } } } }),
      'evil',
      { team: 'evil' },
      false,
    ],
    [
      'Selector: a namespace not (yet) known admits nothing',
      server({ allowedNamespaces: { from: 'Selector', selector: {} } }),
      'unknown',
      undefined,
      false,
    ],
    [
      'Selector: an empty selector admits every known namespace',
      server({ allowedNamespaces: { from: 'Selector', selector: {} } }),
      'shop',
      {},
      true,
    ],
  ];
  for (const [what, spec, namespace, labels, allowed] of cases) {
    it(what, () => {
      const verdict = checkNamespaceAllowed('pg-main', spec, namespace, labels);
      assert.equal(verdict.allowed, allowed);
      if (!verdict.allowed) assert.match(verdict.message, new RegExp(`DatabaseServer pg-main .*${namespace}`));
    });
  }
});

describe('labelSelectorMatches', () => {
  const labels = { team: 'shop', tier: 'gold' };
  const cases: [string, Parameters<typeof labelSelectorMatches>[0], boolean][] = [
    ['In, value listed', { matchExpressions: [{ key: 'team', operator: 'In', values: ['shop', 'ops'] }] }, true],
    ['In, value not listed', { matchExpressions: [{ key: 'team', operator: 'In', values: ['ops'] }] }, false],
    ['In, label missing', { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] }, false],
    ['NotIn, label missing', { matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }] }, true],
    ['NotIn, value listed', { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['gold'] }] }, false],
    ['Exists', { matchExpressions: [{ key: 'tier', operator: 'Exists' }] }, true],
    ['DoesNotExist', { matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] }, false],
    [
      'matchLabels and matchExpressions are ANDed',
      { matchLabels: { team: 'shop' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['silver'] }] },
      false,
    ],
  ];
  for (const [what, selector, expected] of cases) {
    it(what, () => assert.equal(labelSelectorMatches(selector, labels), expected));
  }
});

describe('adoptionAllowed', () => {
  it('only when allowed and the namespace is listed', () => {
    assert.equal(adoptionAllowed(server({}), 'legacy'), false);
    assert.equal(adoptionAllowed(server({ adoption: { allowed: false, namespaces: ['legacy'] } }), 'legacy'), false);
    assert.equal(adoptionAllowed(server({ adoption: { allowed: true, namespaces: ['legacy'] } }), 'legacy'), true);
    assert.equal(adoptionAllowed(server({ adoption: { allowed: true, namespaces: ['legacy'] } }), 'evil'), false);
    assert.equal(adoptionAllowed(server({ adoption: { allowed: true } }), 'legacy'), false);
  });
});
