import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  assertInvariants,
  at,
  atTime,
  checkedPlan,
  conditionOf,
  eventReasons,
  replicasOf,
  rollingInput,
  seconds,
  settle,
  T0,
  withDesired,
  withPaused,
  withReplicas,
  withRequests,
  withRevisions,
  withStatus,
} from './fixtures.ts';
import { planRolling } from './rolling.ts';
import type { RollingInput, RolloutRequests, StrategyStatus } from './types.ts';

type Modifier = (input: RollingInput) => void;

const plan = (...modifiers: Modifier[]) => checkedPlan(planRolling, () => rollingInput(...modifiers));

const healthy: StrategyStatus = { strategy: 'Rolling', phase: 'Healthy', stableRevision: 'a', canaryWeight: 0 };

function updating(extra: StrategyStatus = {}): StrategyStatus {
  return {
    strategy: 'Rolling',
    phase: 'Progressing',
    stableRevision: 'a',
    canaryRevision: 'b',
    currentStepIndex: 0,
    ...extra,
  };
}

describe('rolling: transitions', () => {
  const cases: {
    name: string;
    modifiers: Modifier[];
    phase: string;
    reason: string;
    stable: string;
    replicas: Record<string, number>;
    events?: string[];
    requestHandled?: string;
  }[] = [
    {
      name: 'a running service is adopted, no restart',
      modifiers: [withRevisions('a:4/4')],
      phase: 'Healthy',
      reason: 'RolloutHealthy',
      stable: 'a',
      replicas: { a: 4 },
      events: ['Normal/Adopted'],
    },
    {
      name: 'a new revision surges by maxSurge first (25 % of 4: one pod)',
      modifiers: [withStatus(healthy), withRevisions('a:4/4'), withDesired('b')],
      phase: 'Progressing',
      reason: 'RollingUpdate',
      stable: 'a',
      replicas: { a: 4, b: 1 },
      events: ['Normal/ReleaseStarted'],
    },
    {
      name: 'a new pod Ready: one old pod goes',
      modifiers: [withStatus(updating()), withRevisions('a:4/4', 'b:1/1'), withDesired('b')],
      phase: 'Progressing',
      reason: 'RollingUpdate',
      stable: 'a',
      replicas: { a: 3, b: 1 },
    },
    {
      name: 'all new pods Ready: the new revision is stable and the old one goes',
      modifiers: [withStatus(updating()), withRevisions('a:1/1', 'b:4/4'), withDesired('b')],
      phase: 'Healthy',
      reason: 'RolloutHealthy',
      stable: 'b',
      replicas: { b: 4 },
      events: ['Normal/RolloutCompleted'],
    },
    {
      name: 'promote has nothing to do in a rolling update: cleared and ignored',
      modifiers: [
        withStatus(updating()),
        withRevisions('a:4/4', 'b:1/0'),
        withDesired('b'),
        withRequests({ promote: 'full' }),
      ],
      phase: 'Progressing',
      reason: 'RollingUpdate',
      stable: 'a',
      replicas: { a: 4, b: 1 },
      events: ['Normal/RequestIgnored'],
      requestHandled: 'promote',
    },
    {
      name: 'abort rolls back within the same bounds: one pod over, so the aborted revision shrinks first',
      modifiers: [
        withStatus(updating()),
        withRevisions('a:2/2', 'b:3/3'),
        withDesired('b'),
        withRequests({ abort: true }),
      ],
      phase: 'Aborted',
      reason: 'AbortedByRequest',
      stable: 'a',
      replicas: { a: 2, b: 2 },
      events: ['Warning/RolloutAborted'],
      requestHandled: 'abort',
    },
    {
      name: 'rolled back: the aborted revision at 0 pods, kept for retry',
      modifiers: [
        withStatus(updating({ phase: 'Aborted', abortedRevision: 'b', message: 'aborted' })),
        withRevisions('a:4/4', 'b:1/1'),
        withDesired('b'),
      ],
      phase: 'Aborted',
      reason: 'AbortedByRequest',
      stable: 'a',
      replicas: { a: 4, b: 0 },
      events: [],
    },
    {
      name: 'retry starts the update again',
      modifiers: [
        withStatus(updating({ phase: 'Aborted', abortedRevision: 'b', message: 'aborted' })),
        withRevisions('a:4/4', 'b:0/0'),
        withDesired('b'),
        withRequests({ retry: true }),
      ],
      phase: 'Progressing',
      reason: 'RollingUpdate',
      stable: 'a',
      replicas: { a: 4, b: 1 },
      events: ['Normal/RetryStarted'],
      requestHandled: 'retry',
    },
    {
      name: 'new pods not Ready within the deadline: rolled back automatically, Degraded',
      modifiers: [
        withStatus(updating({ notReadySince: at(T0) })),
        withRevisions('a:3/3', 'b:2/1'),
        withDesired('b'),
        atTime(T0 + seconds(600)),
      ],
      phase: 'Degraded',
      reason: 'ProgressDeadlineExceeded',
      stable: 'a',
      replicas: { a: 3, b: 1 },
      events: ['Warning/ProgressDeadlineExceeded'],
    },
    {
      name: 'a new revision mid-update rolls from the revision with more Ready pods',
      modifiers: [withStatus(updating()), withRevisions('a:1/1', 'b:4/3'), withDesired('c')],
      phase: 'Progressing',
      reason: 'RollingUpdate',
      stable: 'b',
      replicas: { b: 4, c: 1 },
      events: ['Normal/ReleaseRestarted', 'Normal/ReleaseStarted'],
    },
    {
      name: 'a new revision early in an update drops the half-released one',
      modifiers: [withStatus(updating()), withRevisions('a:4/4', 'b:1/1'), withDesired('c')],
      phase: 'Progressing',
      reason: 'RollingUpdate',
      stable: 'a',
      replicas: { a: 4, c: 1 },
      events: ['Normal/ReleaseRestarted'],
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const result = plan(...c.modifiers);
      assert.equal(result.status.phase, c.phase);
      assert.equal(result.status.conditions?.find(({ status }) => status === 'True')?.reason, c.reason);
      assert.equal(result.status.stableRevision, c.stable);
      assert.deepEqual(result.traffic, { kind: 'selector' });
      assert.deepEqual(replicasOf(result), c.replicas);
      if (c.events) assert.deepEqual(eventReasons(result), c.events);
      assert.equal(result.requestHandled, c.requestHandled);
    });
  }

  test('spec.paused holds both revisions at their pods', () => {
    const result = plan(withStatus(updating()), withRevisions('a:3/3', 'b:2/2'), withDesired('b'), withPaused);
    assert.equal(result.status.phase, 'Paused');
    assert.deepEqual(conditionOf(result, 'Paused'), { status: 'True', reason: 'PausedByUser' });
    assert.deepEqual(replicasOf(result), { a: 3, b: 2 });
  });
});

describe('rolling: a whole update', () => {
  for (const [maxSurge, maxUnavailable] of [
    ['25%', 0],
    [0, 1],
    [2, '50%'],
  ] as const) {
    test(`maxSurge ${maxSurge}, maxUnavailable ${maxUnavailable}: ends with b alone at full size`, () => {
      let status: StrategyStatus = healthy;
      let revisions = [{ revision: 'a', replicas: 8, readyReplicas: 8 }];
      for (let round = 0; round < 30; round++) {
        const input = rollingInput(withStatus(status), withDesired('b'), withReplicas(8), atTime(T0 + seconds(round)));
        input.strategy = { maxSurge, maxUnavailable };
        input.revisions = revisions;
        const result = planRolling(input);
        assertInvariants(result, input);
        const total = result.revisions.reduce((sum, { replicas }) => sum + replicas, 0);
        assert.ok(total <= 8 + (maxSurge === '25%' ? 2 : maxSurge), `surge bound: ${total}`);
        status = result.status;
        revisions = settle(result);
        if (status.phase === 'Healthy' && status.stableRevision === 'b') break;
      }
      assert.equal(status.stableRevision, 'b');
      assert.deepEqual(revisions, [{ revision: 'b', replicas: 8, readyReplicas: 8 }]);
    });
  }
});

describe('rolling: a whole rollback', () => {
  test('after an abort mid-update the stable returns to full size and the aborted revision to 0', () => {
    let status: StrategyStatus = updating();
    let revisions = [
      { revision: 'a', replicas: 1, readyReplicas: 1 },
      { revision: 'b', replicas: 4, readyReplicas: 4 },
    ];
    let requests: RolloutRequests = { abort: true };
    for (let round = 0; round < 20; round++) {
      const input = rollingInput(withStatus(status), withDesired('b'), withRequests(requests));
      input.revisions = revisions;
      const result = planRolling(input);
      assertInvariants(result, input);
      assert.equal(result.status.phase, 'Aborted');
      requests = {};
      status = result.status;
      revisions = settle(result);
    }
    assert.deepEqual(revisions, [
      { revision: 'a', replicas: 4, readyReplicas: 4 },
      { revision: 'b', replicas: 0, readyReplicas: 0 },
    ]);
  });
});
