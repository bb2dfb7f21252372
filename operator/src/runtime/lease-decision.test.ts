import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decideLease, formatMicroTime, releasedLease } from './lease-decision.ts';

const t0 = Date.UTC(2026, 0, 1);

describe('decideLease', () => {
  it('creates a missing Lease held by us', () => {
    const decision = decideLease(undefined, 'me', t0, 15_000);
    assert.deepEqual(decision, {
      action: 'create',
      spec: {
        holderIdentity: 'me',
        leaseDurationSeconds: 15,
        acquireTime: '2026-01-01T00:00:00.000000Z',
        renewTime: '2026-01-01T00:00:00.000000Z',
        leaseTransitions: 0,
      },
    });
  });

  it('renews our own Lease', () => {
    const spec = {
      holderIdentity: 'me',
      leaseDurationSeconds: 15,
      renewTime: formatMicroTime(t0),
      leaseTransitions: 3,
    };
    const decision = decideLease({ spec, observedAt: t0 }, 'me', t0 + 10_000, 15_000);
    assert.equal(decision.action, 'update');
    assert.ok(decision.action === 'update' && !decision.acquired);
    assert.equal(decision.action === 'update' && decision.spec.renewTime, formatMicroTime(t0 + 10_000));
    assert.equal(decision.action === 'update' && decision.spec.leaseTransitions, 3);
  });

  it("waits while another holder's Lease has not expired on our clock", () => {
    // The holder wrote a renewTime far in the past (its clock is skewed): what counts is when we saw it.
    const spec = { holderIdentity: 'other', leaseDurationSeconds: 15, renewTime: '2000-01-01T00:00:00.000000Z' };
    assert.deepEqual(decideLease({ spec, observedAt: t0 }, 'me', t0 + 14_999, 15_000), {
      action: 'wait',
      holder: 'other',
    });
  });

  it('takes over an expired Lease, counting a transition', () => {
    const spec = { holderIdentity: 'other', leaseDurationSeconds: 15, leaseTransitions: 2 };
    const decision = decideLease({ spec, observedAt: t0 }, 'me', t0 + 15_001, 15_000);
    assert.ok(decision.action === 'update' && decision.acquired);
    assert.equal(decision.action === 'update' && decision.spec.holderIdentity, 'me');
    assert.equal(decision.action === 'update' && decision.spec.leaseTransitions, 3);
  });

  it('takes a released Lease at once', () => {
    const spec = releasedLease({ holderIdentity: 'other', leaseDurationSeconds: 15, leaseTransitions: 1 }, t0);
    assert.equal(spec.holderIdentity, '');
    const decision = decideLease({ spec, observedAt: t0 }, 'me', t0 + 1, 15_000);
    assert.ok(decision.action === 'update' && decision.acquired);
  });
});
