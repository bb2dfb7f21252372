import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { computeAutoPromotionSeconds, planBlueGreen } from './blue-green.ts';
import {
  assertInvariants,
  at,
  atTime,
  blueGreenInput,
  checkedPlan,
  conditionOf,
  eventReasons,
  replicasOf,
  seconds,
  settle,
  T0,
  withDesired,
  withPaused,
  withRequests,
  withRevisions,
  withStatus,
} from './fixtures.ts';
import type { BlueGreenInput, BlueGreenStrategy, StrategyStatus } from './types.ts';

type Modifier = (input: BlueGreenInput) => void;

const MANUAL: BlueGreenStrategy = { autoPromotionEnabled: false, previewReplicaCount: 1 };

const plan = (strategy: BlueGreenStrategy, ...modifiers: Modifier[]) =>
  checkedPlan(planBlueGreen, () => blueGreenInput(structuredClone(strategy), ...modifiers));

const healthy: StrategyStatus = { strategy: 'BlueGreen', phase: 'Healthy', stableRevision: 'a', canaryWeight: 0 };

function preview(index: number, extra: StrategyStatus = {}): StrategyStatus {
  return {
    strategy: 'BlueGreen',
    phase: 'Progressing',
    stableRevision: 'a',
    canaryRevision: 'b',
    currentStepIndex: index,
    canaryWeight: 0,
    ...extra,
  };
}

describe('computeAutoPromotionSeconds', () => {
  const cases: [BlueGreenStrategy, number | undefined][] = [
    [{}, undefined],
    [{ autoPromotionEnabled: false }, undefined],
    [{ autoPromotionEnabled: false, autoPromotionSeconds: 600 }, undefined],
    [{ autoPromotionEnabled: true }, 0],
    [{ autoPromotionEnabled: true, autoPromotionSeconds: 60 }, 60],
    [{ autoPromotionSeconds: 600 }, 600],
  ];
  for (const [strategy, result] of cases) {
    test(`${JSON.stringify(strategy)} → ${result}`, () => assert.equal(computeAutoPromotionSeconds(strategy), result));
  }
});

describe('blue-green: transitions', () => {
  const cases: {
    name: string;
    strategy?: BlueGreenStrategy;
    modifiers: Modifier[];
    phase: string;
    reason: string;
    active: string;
    preview?: string;
    replicas: Record<string, number>;
    requeueAfterMs?: number;
    events?: string[];
    requestHandled?: string;
  }[] = [
    {
      name: 'a running service is adopted as the active colour, no restart',
      modifiers: [withRevisions('a:4/4')],
      phase: 'Healthy',
      reason: 'RolloutHealthy',
      active: 'a',
      replicas: { a: 4 },
      events: ['Normal/Adopted'],
    },
    {
      name: 'a new revision runs as preview with previewReplicaCount pods',
      modifiers: [withStatus(healthy), withRevisions('a:4/4'), withDesired('b')],
      phase: 'Progressing',
      reason: 'WaitingForPreview',
      active: 'a',
      preview: 'b',
      replicas: { a: 4, b: 1 },
      requeueAfterMs: seconds(600),
      events: ['Normal/ReleaseStarted'],
    },
    {
      name: 'without previewReplicaCount the preview gets as many pods as the active',
      strategy: { autoPromotionEnabled: false },
      modifiers: [withStatus(healthy), withRevisions('a:4/4'), withDesired('b')],
      phase: 'Progressing',
      reason: 'WaitingForPreview',
      active: 'a',
      preview: 'b',
      replicas: { a: 4, b: 4 },
      requeueAfterMs: seconds(600),
    },
    {
      name: 'a Ready preview waits for a promotion (manual)',
      modifiers: [withStatus(preview(0)), withRevisions('a:4/4', 'b:1/1'), withDesired('b')],
      phase: 'Paused',
      reason: 'AwaitingPromotion',
      active: 'a',
      preview: 'b',
      replicas: { a: 4, b: 1 },
    },
    {
      name: 'a Ready preview with autoPromotionSeconds waits for them',
      strategy: { autoPromotionSeconds: 600, previewReplicaCount: 1 },
      modifiers: [
        withStatus(preview(0, { pauseStartTime: at(T0) })),
        withRevisions('a:4/4', 'b:1/1'),
        withDesired('b'),
        atTime(T0 + seconds(100)),
      ],
      phase: 'Paused',
      reason: 'AutoPromotionPending',
      active: 'a',
      preview: 'b',
      replicas: { a: 4, b: 1 },
      requeueAfterMs: seconds(500),
    },
    {
      name: 'autoPromotionSeconds passed: the preview grows to full size first',
      strategy: { autoPromotionSeconds: 600, previewReplicaCount: 1 },
      modifiers: [
        withStatus(preview(0, { pauseStartTime: at(T0) })),
        withRevisions('a:4/4', 'b:1/1'),
        withDesired('b'),
        atTime(T0 + seconds(600)),
      ],
      phase: 'Progressing',
      reason: 'Promoting',
      active: 'a',
      preview: 'b',
      replicas: { a: 4, b: 4 },
      requeueAfterMs: seconds(600),
      events: ['Normal/Promoted'],
    },
    {
      name: 'autoPromotionEnabled with a full-size preview switches as soon as it is Ready',
      strategy: { autoPromotionEnabled: true },
      modifiers: [withStatus(preview(0)), withRevisions('a:4/4', 'b:4/4'), withDesired('b')],
      phase: 'Healthy',
      reason: 'RolloutHealthy',
      active: 'b',
      replicas: { b: 4, a: 4 },
      requeueAfterMs: seconds(30),
      events: ['Normal/Promoted', 'Normal/RolloutCompleted'],
    },
    {
      name: 'autoPromotionEnabled with a Pending preview (0 of 4 Ready): the active Service does not move',
      strategy: { autoPromotionEnabled: true },
      modifiers: [withStatus(preview(0)), withRevisions('a:4/4', 'b:4/0'), withDesired('b')],
      phase: 'Progressing',
      reason: 'WaitingForPreview',
      active: 'a',
      preview: 'b',
      replicas: { a: 4, b: 4 },
      requeueAfterMs: seconds(600),
      events: [],
    },
    {
      name: 'promoting with 3 of 4 preview pods Ready: the switch waits for the last one',
      modifiers: [withStatus(preview(1)), withRevisions('a:4/4', 'b:4/3'), withDesired('b')],
      phase: 'Progressing',
      reason: 'Promoting',
      active: 'a',
      preview: 'b',
      replicas: { a: 4, b: 4 },
      requeueAfterMs: seconds(600),
      events: [],
    },
    {
      name: 'promote switches the active Service in one plan when the preview is at full size',
      strategy: { autoPromotionEnabled: false },
      modifiers: [
        withStatus(preview(0, { pauseStartTime: at(T0) })),
        withRevisions('a:4/4', 'b:4/4'),
        withDesired('b'),
        withRequests({ promote: 'step' }),
      ],
      phase: 'Healthy',
      reason: 'RolloutHealthy',
      active: 'b',
      replicas: { b: 4, a: 4 },
      requeueAfterMs: seconds(30),
      events: ['Normal/Promoted', 'Normal/RolloutCompleted'],
      requestHandled: 'promote',
    },
    {
      name: 'promote: full with a small preview grows it before the switch: no drop in capacity',
      modifiers: [
        withStatus(preview(0)),
        withRevisions('a:4/4', 'b:1/1'),
        withDesired('b'),
        withRequests({ promote: 'full' }),
      ],
      phase: 'Progressing',
      reason: 'Promoting',
      active: 'a',
      preview: 'b',
      replicas: { a: 4, b: 4 },
      requeueAfterMs: seconds(600),
      requestHandled: 'promote',
    },
    {
      name: 'a second promote while promoting is cleared and ignored',
      modifiers: [
        withStatus(preview(1)),
        withRevisions('a:4/4', 'b:4/2'),
        withDesired('b'),
        withRequests({ promote: 'step' }),
      ],
      phase: 'Progressing',
      reason: 'Promoting',
      active: 'a',
      preview: 'b',
      replicas: { a: 4, b: 4 },
      requeueAfterMs: seconds(600),
      events: ['Normal/RequestIgnored'],
      requestHandled: 'promote',
    },
    {
      name: 'abort before promotion: the preview goes to 0, the active keeps all traffic',
      modifiers: [
        withStatus(preview(0)),
        withRevisions('a:4/4', 'b:1/1'),
        withDesired('b'),
        withRequests({ abort: true }),
      ],
      phase: 'Aborted',
      reason: 'AbortedByRequest',
      active: 'a',
      replicas: { a: 4, b: 0 },
      events: ['Warning/RolloutAborted'],
      requestHandled: 'abort',
    },
    {
      name: 'abort while promoting',
      modifiers: [
        withStatus(preview(1)),
        withRevisions('a:4/4', 'b:4/2'),
        withDesired('b'),
        withRequests({ abort: true }),
      ],
      phase: 'Aborted',
      reason: 'AbortedByRequest',
      active: 'a',
      replicas: { a: 4, b: 0 },
      events: ['Warning/RolloutAborted'],
      requestHandled: 'abort',
    },
    {
      name: 'retry after abort shows the preview again',
      modifiers: [
        withStatus(preview(1, { phase: 'Aborted', abortedRevision: 'b' })),
        withRevisions('a:4/4', 'b:0/0'),
        withDesired('b'),
        withRequests({ retry: true }),
      ],
      phase: 'Progressing',
      reason: 'WaitingForPreview',
      active: 'a',
      preview: 'b',
      replicas: { a: 4, b: 1 },
      requeueAfterMs: seconds(600),
      events: ['Normal/RetryStarted'],
      requestHandled: 'retry',
    },
    {
      name: 'a preview not Ready within the deadline is aborted: Degraded',
      modifiers: [
        withStatus(preview(0, { notReadySince: at(T0) })),
        withRevisions('a:4/4', 'b:1/0'),
        withDesired('b'),
        atTime(T0 + seconds(600)),
      ],
      phase: 'Degraded',
      reason: 'ProgressDeadlineExceeded',
      active: 'a',
      replicas: { a: 4, b: 0 },
      events: ['Warning/ProgressDeadlineExceeded'],
    },
    {
      name: 'a new revision mid-promotion: the half-released one is dropped, the newest shown as preview',
      modifiers: [withStatus(preview(1)), withRevisions('a:4/4', 'b:4/4'), withDesired('c')],
      phase: 'Progressing',
      reason: 'WaitingForPreview',
      active: 'a',
      preview: 'c',
      replicas: { a: 4, c: 1 },
      requeueAfterMs: seconds(600),
      events: ['Normal/ReleaseRestarted'],
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const result = plan(c.strategy ?? MANUAL, ...c.modifiers);
      assert.equal(result.status.phase, c.phase);
      assert.equal(result.status.conditions?.find(({ status }) => status === 'True')?.reason ?? '', c.reason);
      const expected = c.preview
        ? { kind: 'blueGreen', active: c.active, preview: c.preview }
        : { kind: 'blueGreen', active: c.active };
      assert.deepEqual(result.traffic, expected);
      assert.equal(result.scaleTarget, c.active);
      assert.deepEqual(replicasOf(result), c.replicas);
      assert.equal(result.requeueAfterMs, c.requeueAfterMs);
      if (c.events) assert.deepEqual(eventReasons(result), c.events);
      assert.equal(result.requestHandled, c.requestHandled);
    });
  }
});

describe('blue-green: the previous colour and spec.paused', () => {
  test('the previous colour is kept for scaleDownDelaySeconds, then goes', () => {
    const switched = plan(
      { autoPromotionEnabled: false, scaleDownDelaySeconds: 60 },
      withStatus(preview(1)),
      withRevisions('a:4/4', 'b:4/4'),
      withDesired('b'),
    );
    assert.deepEqual(switched.status.scaleDown, { revision: 'a', at: at(T0 + seconds(60)) });
    assert.equal(switched.requeueAfterMs, seconds(60));
    const kept = plan(
      MANUAL,
      withStatus(switched.status),
      withRevisions('a:4/4', 'b:4/4'),
      withDesired('b'),
      atTime(T0 + seconds(59)),
    );
    assert.deepEqual(replicasOf(kept), { b: 4, a: 4 });
    assert.deepEqual(kept.traffic, { kind: 'blueGreen', active: 'b' });
    const gone = plan(
      MANUAL,
      withStatus(switched.status),
      withRevisions('a:4/4', 'b:4/4'),
      withDesired('b'),
      atTime(T0 + seconds(60)),
    );
    assert.deepEqual(replicasOf(gone), { b: 4 });
  });

  test('spec.paused holds a Ready preview past its autoPromotionSeconds, and a promotion waits', () => {
    const result = plan(
      { autoPromotionSeconds: 10, previewReplicaCount: 1 },
      withStatus(preview(0, { pauseStartTime: at(T0) })),
      withRevisions('a:4/4', 'b:1/1'),
      withDesired('b'),
      withPaused,
      withRequests({ promote: 'full' }),
      atTime(T0 + seconds(3600)),
    );
    assert.equal(result.status.phase, 'Paused');
    assert.deepEqual(conditionOf(result, 'Paused'), { status: 'True', reason: 'PausedByUser' });
    assert.equal(result.status.currentStepIndex, 0);
    assert.equal(result.requestHandled, undefined);
    assert.deepEqual(replicasOf(result), { a: 4, b: 1 });
  });
});

describe('blue-green: a whole release', () => {
  function run(crashEveryPlan: boolean) {
    let status: StrategyStatus = healthy;
    let revisions = [{ revision: 'a', replicas: 4, readyReplicas: 4 }];
    let now = T0;
    const history: string[] = [];
    for (let round = 0; round < 20; round++) {
      const input = blueGreenInput({ autoPromotionSeconds: 60, previewReplicaCount: 2 }, withStatus(status));
      Object.assign(input, { desiredRevision: 'b', revisions, now });
      let result = planBlueGreen(input);
      assertInvariants(result, input);
      if (crashEveryPlan) {
        input.revisions = settle(result);
        result = planBlueGreen(input);
        assertInvariants(result, input);
      }
      history.push(`${result.status.phase}:${JSON.stringify(result.traffic)}:${JSON.stringify(replicasOf(result))}`);
      status = result.status;
      revisions = settle(result);
      now += result.requeueAfterMs ?? seconds(1);
      if (status.phase === 'Healthy' && !status.scaleDown) break;
    }
    return { status, history, revisions };
  }

  test('preview, auto-promotion after 60 s, growth to full size, switch, old colour gone after 30 s', () => {
    const { status, history, revisions } = run(false);
    assert.deepEqual(history, [
      'Progressing:{"kind":"blueGreen","active":"a","preview":"b"}:{"a":4,"b":2}',
      'Paused:{"kind":"blueGreen","active":"a","preview":"b"}:{"a":4,"b":2}',
      'Progressing:{"kind":"blueGreen","active":"a","preview":"b"}:{"a":4,"b":4}',
      'Healthy:{"kind":"blueGreen","active":"b"}:{"b":4,"a":4}',
      'Healthy:{"kind":"blueGreen","active":"b"}:{"b":4}',
    ]);
    assert.equal(status.stableRevision, 'b');
    assert.deepEqual(revisions, [{ revision: 'b', replicas: 4, readyReplicas: 4 }]);
  });

  test('an operator killed after every apply, before its status write, ends in the same state', () => {
    const uninterrupted = run(false);
    const crashed = run(true);
    assert.deepEqual(crashed.revisions, uninterrupted.revisions);
    assert.equal(crashed.status.stableRevision, 'b');
    assert.equal(crashed.history.at(-1), uninterrupted.history.at(-1));
  });
});
