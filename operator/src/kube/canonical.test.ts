import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalEqual, canonicalize, stripManagedFields } from './canonical.ts';

describe('canonical form', () => {
  it('a listed object with Date fields equals the watched one with strings (row 4)', () => {
    const listed = {
      metadata: { name: 'a', creationTimestamp: new Date('2026-01-02T03:04:05Z') },
      status: { conditions: [{ type: 'Ready', lastTransitionTime: new Date('2026-01-02T03:04:05.000Z') }] },
    };
    const watched = {
      status: { conditions: [{ lastTransitionTime: '2026-01-02T03:04:05Z', type: 'Ready' }] },
      metadata: { creationTimestamp: '2026-01-02T03:04:05Z', name: 'a' },
    };
    assert.ok(canonicalEqual(listed, watched));
  });

  it('drops undefined fields and sorts keys, keeps array order', () => {
    assert.deepEqual(canonicalize({ b: 1, a: undefined, c: [2, 1] }), { b: 1, c: [2, 1] });
    assert.equal(JSON.stringify(canonicalize({ b: 1, a: 2 })), '{"a":2,"b":1}');
    assert.ok(!canonicalEqual({ list: [1, 2] }, { list: [2, 1] }));
  });

  it('tells a changed value apart', () => {
    assert.ok(!canonicalEqual({ spec: { replicas: 2 } }, { spec: { replicas: 3 } }));
    assert.ok(!canonicalEqual({ spec: { replicas: 2 } }, { spec: { replicas: '2' } }));
  });

  it('strips managedFields in place', () => {
    const object = { metadata: { name: 'a', managedFields: [{ manager: 'kubectl' }] } };
    stripManagedFields(object);
    assert.deepEqual(object, { metadata: { name: 'a' } });
  });
});
