import assert from 'node:assert/strict';
import { describe, it, test } from 'node:test';
import { buildConditions, type Outcome, Reason } from './conditions.ts';
import type { RolloutPhase } from './types.ts';

const T1 = '2026-01-01T00:00:00Z';
const T2 = '2026-01-01T00:05:00Z';

const statuses = (outcome: Outcome) =>
  Object.fromEntries(buildConditions(undefined, outcome, T1).map(({ type, status }) => [type, status]));

describe('buildConditions', () => {
  const cases: [phase: RolloutPhase, ready: string, progressing: string, paused: string, aborted: string][] = [
    ['Healthy', 'True', 'False', 'False', 'False'],
    ['Progressing', 'False', 'True', 'False', 'False'],
    ['Paused', 'False', 'True', 'True', 'False'],
    ['Aborted', 'False', 'False', 'False', 'True'],
    ['Degraded', 'False', 'False', 'False', 'True'],
  ];
  for (const [phase, Ready, Progressing, Paused, Aborted] of cases) {
    test(`${phase}: Ready ${Ready}, Progressing ${Progressing}, Paused ${Paused}, Aborted ${Aborted}`, () => {
      assert.deepEqual(statuses({ phase, reason: 'Why', message: 'because' }), { Ready, Progressing, Paused, Aborted });
    });
  }

  test('a condition that does not flip keeps its lastTransitionTime; one that flips takes now', () => {
    const before = buildConditions(
      undefined,
      { phase: 'Progressing', reason: Reason.WaitingForCanary, message: 'm' },
      T1,
    );
    const after = buildConditions(before, { phase: 'Paused', reason: Reason.PausedAtStep, message: 'n' }, T2, 7);
    const byType = Object.fromEntries(after.map((condition) => [condition.type, condition]));
    assert.deepEqual(byType.Paused, {
      type: 'Paused',
      status: 'True',
      reason: 'PausedAtStep',
      message: 'n',
      lastTransitionTime: T2,
      observedGeneration: 7,
    });
    assert.equal(byType.Progressing?.lastTransitionTime, T1);
    assert.equal(byType.Progressing?.reason, 'PausedAtStep');
    assert.equal(byType.Ready?.lastTransitionTime, T1);
    assert.equal(byType.Aborted?.reason, 'NotAborted');
  });

  test('every reason is a CamelCase constant the API accepts', () => {
    for (const reason of Object.values(Reason)) assert.match(reason, /^[A-Z][A-Za-z]*$/);
  });
});

describe('condition times', () => {
  it('are whole seconds, as metav1.Condition keeps them, even from a clock in milliseconds', () => {
    const [ready] = buildConditions(
      undefined,
      { phase: 'Healthy', reason: Reason.Healthy, message: 'm' },
      '2026-01-01T00:05:00.123Z',
    );
    assert.equal(ready?.lastTransitionTime, '2026-01-01T00:05:00Z');
  });
});
