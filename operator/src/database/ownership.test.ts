import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decideClaim, formatOwnerMark, OwnershipConflictError, parseOwnerMark } from './ownership.ts';

describe('the mark of ownership', () => {
  it('round-trips a MicroService, and anything else is no mark', () => {
    assert.equal(formatOwnerMark('shop/orders'), 'flotilla.dev/owner=shop/orders');
    assert.equal(parseOwnerMark(formatOwnerMark('shop/orders')), 'shop/orders');
    for (const text of [null, undefined, '', 'billing data, ask Ana', 'flotilla.dev/owner=', 'owner=shop/orders']) {
      assert.equal(parseOwnerMark(text), undefined, String(text));
    }
  });
});

describe('decideClaim', () => {
  const request = { owner: 'shop/orders' };
  it('creates what is missing and uses what carries its own mark', () => {
    assert.equal(decideClaim('database', 'd', { exists: false }, request), 'create');
    assert.equal(decideClaim('database', 'd', { exists: true, owner: 'shop/orders' }, request), 'ours');
  });

  it('refuses what another MicroService owns, even where adoption is allowed', () => {
    for (const adopt of [false, true]) {
      assert.throws(
        () => decideClaim('database', 'd', { exists: true, owner: 'shop/payments' }, { ...request, adopt }),
        (error: OwnershipConflictError) =>
          error instanceof OwnershipConflictError &&
          error.markedOwner === 'shop/payments' &&
          /belongs to/.test(error.message),
      );
    }
  });

  it('refuses what exists without a mark unless adoption is allowed', () => {
    assert.throws(
      () => decideClaim('database', 'legacy_orders', { exists: true, owner: undefined }, request),
      /database legacy_orders exists and was not created by Flotilla/,
    );
    assert.equal(decideClaim('role', 'r', { exists: true, owner: undefined }, { ...request, adopt: true }), 'adopt');
  });
});
