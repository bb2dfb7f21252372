import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MicroServiceStatus } from '../../api/microservice.ts';
import { isProgressOnly, StatusPacer } from './status-pacing.ts';

const T = '2026-11-24T10:00:00Z';

function status(ready: 'True' | 'False', reason: string, message: string, readyReplicas = 0): MicroServiceStatus {
  return {
    observedGeneration: 1,
    replicas: 3,
    readyReplicas,
    selector: 'app.kubernetes.io/name=orders',
    conditions: [
      { type: 'Ready', status: ready, reason, message, lastTransitionTime: T, observedGeneration: 1 },
      {
        type: 'Degraded',
        status: 'False',
        reason: 'AsExpected',
        message: '',
        lastTransitionTime: T,
        observedGeneration: 1,
      },
    ],
  };
}

describe('isProgressOnly', () => {
  const rolling = status('False', 'RollingUpdate', '0 of 3 pods available');
  const cases: [string, MicroServiceStatus | undefined, MicroServiceStatus, boolean][] = [
    ['more pods available', rolling, status('False', 'RollingUpdate', '2 of 3 pods available', 2), true],
    ['nothing changed (nothing to write)', rolling, rolling, false],
    ['Ready flips', rolling, status('True', 'Available', '3 of 3 pods available', 3), false],
    ['a new reason', rolling, status('False', 'ProgressDeadlineExceeded', '0 of 3 pods available'), false],
    ['a new generation', rolling, { ...rolling, observedGeneration: 2 }, false],
    ['a new revision', rolling, { ...rolling, currentRevision: 'abc' }, false],
    ['no status yet', undefined, rolling, false],
  ];
  for (const [name, previous, next, expected] of cases) {
    it(name, () => assert.equal(isProgressOnly(previous, next), expected));
  }
});

describe('StatusPacer', () => {
  const before = status('False', 'RollingUpdate', '0 of 3 pods available');
  const progress = status('False', 'RollingUpdate', '1 of 3 pods available', 1);
  const ready = status('True', 'Available', '3 of 3 pods available', 3);

  it('holds a progress-only change until the interval since the last write has passed', () => {
    const pacer = new StatusPacer(1_000);
    assert.equal(pacer.holdFor('shop/orders', before, progress, 0), undefined, 'never written: write now');
    pacer.wrote('shop/orders', 10_000);
    assert.equal(pacer.holdFor('shop/orders', before, progress, 10_300), 700);
    assert.equal(pacer.holdFor('shop/orders', before, progress, 11_000), undefined);
    assert.equal(pacer.holdFor('shop/payments', before, progress, 10_300), undefined, 'per service');
  });

  it('never holds a condition that flips', () => {
    const pacer = new StatusPacer(1_000);
    pacer.wrote('shop/orders', 10_000);
    assert.equal(pacer.holdFor('shop/orders', before, ready, 10_001), undefined);
  });

  it('forgets a service that is gone', () => {
    const pacer = new StatusPacer(1_000);
    pacer.wrote('shop/orders', 10_000);
    pacer.forget('shop/orders');
    assert.equal(pacer.holdFor('shop/orders', before, progress, 10_001), undefined);
  });
});
