import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { planCanary } from './canary.ts';
import {
  assertInvariants,
  at,
  atTime,
  canaryInput,
  checkedPlan,
  conditionOf,
  eventReasons,
  midCanary,
  replicasOf,
  STEPS,
  seconds,
  settle,
  T0,
  weightsOf,
  withDesired,
  withPaused,
  withReplicas,
  withRequests,
  withRevisions,
  withStatus,
  withSteps,
} from './fixtures.ts';
import type { CanaryInput, StrategyStatus } from './types.ts';

type Modifier = (input: CanaryInput) => void;

const plan = (...modifiers: Modifier[]) => checkedPlan(planCanary, () => canaryInput(...modifiers));

const healthy: StrategyStatus = { strategy: 'Canary', phase: 'Healthy', stableRevision: 'a', canaryWeight: 0 };

describe('canary: adoption and the first revision', () => {
  const cases: {
    name: string;
    modifiers: Modifier[];
    phase: string;
    stable: string;
    canary?: string;
    replicas: Record<string, number>;
    events: string[];
  }[] = [
    {
      name: 'a service already running the desired revision is adopted with no restart',
      modifiers: [withRevisions('a:4/4')],
      phase: 'Healthy',
      stable: 'a',
      replicas: { a: 4 },
      events: ['Normal/Adopted'],
    },
    {
      name: 'a running service whose template changed: the running revision is stable, the new one a canary',
      modifiers: [withRevisions('a:4/4'), withDesired('b')],
      phase: 'Progressing',
      stable: 'a',
      canary: 'b',
      replicas: { a: 4, b: 1 },
      events: ['Normal/Adopted', 'Normal/ReleaseStarted'],
    },
    {
      name: 'mid rolling update: the revision with more Ready pods is stable, the desired one its canary',
      modifiers: [withRevisions('a:3/3', 'b:2/1'), withDesired('b')],
      phase: 'Progressing',
      stable: 'a',
      canary: 'b',
      replicas: { a: 4, b: 1 },
      events: ['Normal/Adopted', 'Normal/ReleaseStarted', 'Normal/StepCompleted'],
    },
    {
      name: 'nothing running: the desired revision is deployed at once as stable',
      modifiers: [],
      phase: 'Progressing',
      stable: 'a',
      replicas: { a: 4 },
      events: [],
    },
    {
      name: 'the first revision becomes Healthy once all its pods are Ready',
      modifiers: [withStatus({ ...healthy, phase: 'Progressing' }), withRevisions('a:4/4')],
      phase: 'Healthy',
      stable: 'a',
      replicas: { a: 4 },
      events: [],
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const result = plan(...c.modifiers);
      assert.equal(result.status.phase, c.phase);
      assert.equal(result.status.stableRevision, c.stable);
      assert.equal(result.status.canaryRevision, c.canary);
      assert.deepEqual(replicasOf(result), c.replicas);
      assert.deepEqual(eventReasons(result), c.events);
    });
  }
});

describe('canary: the steps', () => {
  const cases: {
    name: string;
    modifiers: Modifier[];
    phase: string;
    reason: string;
    index: number;
    weights: Record<string, number>;
    replicas: Record<string, number>;
    requeueAfterMs?: number;
    events?: string[];
    pauseStartTime?: string;
  }[] = [
    {
      name: 'a new revision starts a release at step 1: one pod, and no traffic until it is Ready',
      modifiers: [withStatus(healthy), withRevisions('a:4/4'), withDesired('b')],
      phase: 'Progressing',
      reason: 'WaitingForCanary',
      index: 0,
      weights: { a: 100, b: 0 },
      replicas: { a: 4, b: 1 },
      requeueAfterMs: seconds(600),
      events: ['Normal/ReleaseStarted'],
    },
    {
      name: 'setWeight is done once the canary has its pods Ready: on to the next step at once, its pause starting now',
      modifiers: [withStatus(midCanary(0, 10)), withRevisions('a:4/4', 'b:1/1'), withDesired('b')],
      phase: 'Progressing',
      reason: 'WaitingForCanary',
      index: 1,
      weights: { a: 90, b: 10 },
      replicas: { a: 4, b: 1 },
      requeueAfterMs: 0,
      events: ['Normal/StepCompleted'],
      pauseStartTime: at(T0),
    },
    {
      name: 'a pause without duration waits for a promotion, with no timer',
      modifiers: [withStatus(midCanary(1, 10)), withRevisions('a:4/4', 'b:1/1'), withDesired('b')],
      phase: 'Paused',
      reason: 'PausedAtStep',
      index: 1,
      weights: { a: 90, b: 10 },
      replicas: { a: 4, b: 1 },
      pauseStartTime: at(T0),
    },
    {
      name: 'setWeight 50 scales the canary to half the stable; its one Ready pod carries 25 % meanwhile',
      modifiers: [withStatus(midCanary(2, 10)), withRevisions('a:4/4', 'b:1/1'), withDesired('b')],
      phase: 'Progressing',
      reason: 'WaitingForCanary',
      index: 2,
      weights: { a: 75, b: 25 },
      replicas: { a: 4, b: 2 },
      requeueAfterMs: seconds(600),
    },
    {
      name: 'a pause with duration requeues after the time left',
      modifiers: [
        withStatus(midCanary(3, 50, { pauseStartTime: at(T0) })),
        withRevisions('a:4/4', 'b:2/2'),
        withDesired('b'),
        atTime(T0 + seconds(45)),
      ],
      phase: 'Paused',
      reason: 'PausedForDuration',
      index: 3,
      weights: { a: 50, b: 50 },
      replicas: { a: 4, b: 2 },
      requeueAfterMs: seconds(75),
      pauseStartTime: at(T0),
    },
    {
      name: 'a pause with duration starts its clock on the first plan that reaches it',
      modifiers: [withStatus(midCanary(3, 50)), withRevisions('a:4/4', 'b:2/2'), withDesired('b')],
      phase: 'Paused',
      reason: 'PausedForDuration',
      index: 3,
      weights: { a: 50, b: 50 },
      replicas: { a: 4, b: 2 },
      requeueAfterMs: seconds(120),
      pauseStartTime: at(T0),
    },
    {
      name: 'a pause with duration ends when its time is up',
      modifiers: [
        withStatus(midCanary(3, 50, { pauseStartTime: at(T0) })),
        withRevisions('a:4/4', 'b:2/2'),
        withDesired('b'),
        atTime(T0 + seconds(120)),
      ],
      phase: 'Progressing',
      reason: 'Promoting',
      index: 4,
      weights: { a: 50, b: 50 },
      replicas: { a: 4, b: 2 },
      requeueAfterMs: 0,
      events: ['Normal/StepCompleted'],
    },
    {
      name: 'after the last step the canary grows to full size before it takes all traffic',
      modifiers: [withStatus(midCanary(4, 50)), withRevisions('a:4/4', 'b:2/2'), withDesired('b')],
      phase: 'Progressing',
      reason: 'Promoting',
      index: 4,
      weights: { a: 50, b: 50 },
      replicas: { a: 4, b: 4 },
      requeueAfterMs: seconds(600),
    },
    {
      name: 'the canary at full size and Ready is promoted; the old stable is kept for scaleDownDelaySeconds',
      modifiers: [withStatus(midCanary(4, 50)), withRevisions('a:4/4', 'b:4/4'), withDesired('b')],
      phase: 'Healthy',
      reason: 'RolloutHealthy',
      index: 4,
      weights: { b: 100 },
      replicas: { b: 4, a: 4 },
      requeueAfterMs: seconds(30),
      events: ['Normal/RolloutCompleted'],
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const result = plan(...c.modifiers);
      assert.equal(result.status.phase, c.phase);
      assert.equal(conditionOf(result, 'Progressing')?.reason, c.reason);
      assert.equal(result.status.currentStepIndex, c.index);
      assert.deepEqual(weightsOf(result), c.weights);
      assert.deepEqual(replicasOf(result), c.replicas);
      assert.equal(result.requeueAfterMs, c.requeueAfterMs);
      if (c.events) assert.deepEqual(eventReasons(result), c.events);
      assert.equal(result.status.pauseStartTime, c.pauseStartTime);
    });
  }

  test('after promotion the old stable goes once scaleDownDelaySeconds have passed', () => {
    const completed = plan(withStatus(midCanary(4, 50)), withRevisions('a:4/4', 'b:4/4'), withDesired('b'));
    assert.deepEqual(completed.status.scaleDown, { revision: 'a', at: at(T0 + seconds(30)) });
    assert.equal(completed.scaleTarget, 'b');
    const early = plan(
      withStatus(completed.status),
      withRevisions('a:4/4', 'b:4/4'),
      withDesired('b'),
      atTime(T0 + seconds(10)),
    );
    assert.deepEqual(replicasOf(early), { a: 4, b: 4 });
    assert.equal(early.requeueAfterMs, seconds(20));
    const later = plan(
      withStatus(completed.status),
      withRevisions('a:4/4', 'b:4/4'),
      withDesired('b'),
      atTime(T0 + seconds(30)),
    );
    assert.deepEqual(replicasOf(later), { b: 4 });
    assert.equal(later.status.scaleDown, undefined);
    assert.deepEqual(eventReasons(later), ['Normal/ScaledDown']);
    assert.equal(later.requeueAfterMs, undefined);
  });

  test('a waiting plan is a fixed point: planned again later, the status does not change (no status write)', () => {
    const waits: [StrategyStatus, string[]][] = [
      [midCanary(1, 10), ['a:4/4', 'b:1/1']],
      [midCanary(3, 50), ['a:4/4', 'b:2/2']],
      [healthy, ['a:4/4']],
    ];
    for (const [status, revisions] of waits) {
      const first = plan(withStatus(status), withRevisions(...revisions), withDesired(status.canaryRevision ?? 'a'));
      const again = plan(
        withStatus(first.status),
        withRevisions(...revisions),
        withDesired(status.canaryRevision ?? 'a'),
        atTime(T0 + seconds(30)),
      );
      assert.deepEqual(again.status, first.status);
      assert.deepEqual(again.events, []);
    }
  });

  test('scaleDownDelaySeconds: 0 drops the old stable at once', () => {
    const result = plan(
      (input) => {
        input.strategy.scaleDownDelaySeconds = 0;
      },
      withStatus(midCanary(4, 50)),
      withRevisions('a:4/4', 'b:4/4'),
      withDesired('b'),
    );
    assert.deepEqual(replicasOf(result), { b: 4 });
  });

  test('the canary at weight 0 (a first pause step) still runs one pod', () => {
    const result = plan(
      withSteps({ pause: {} }, { setWeight: 100 }),
      withStatus(healthy),
      withRevisions('a:4/4'),
      withDesired('b'),
    );
    assert.deepEqual(weightsOf(result), { a: 100, b: 0 });
    assert.deepEqual(replicasOf(result), { a: 4, b: 1 });
  });
});

describe('canary: traffic only as far as the Ready pods carry it', () => {
  const cases: {
    name: string;
    modifiers: Modifier[];
    weights: Record<string, number>;
    replicas: Record<string, number>;
    index: number;
    message?: RegExp;
  }[] = [
    {
      name: '0 of 1 canary pods Ready at a 20 % step: 100/0, and the status says what it waits for',
      modifiers: [withSteps({ setWeight: 20 }, { pause: {} }), withReplicas(1), withRevisions('a:1/1', 'b:1/0')],
      weights: { a: 100, b: 0 },
      replicas: { a: 1, b: 1 },
      index: 0,
      message:
        /^step 1 of 2: waiting for 1 of 1 canary pods to be Ready before sending 20% of traffic to b \(0% now\)$/,
    },
    {
      name: 'the pod Ready: 80/20 and on to the next step',
      modifiers: [withSteps({ setWeight: 20 }, { pause: {} }), withReplicas(1), withRevisions('a:1/1', 'b:1/1')],
      weights: { a: 80, b: 20 },
      replicas: { a: 1, b: 1 },
      index: 1,
    },
    {
      name: '1 of 2 canary pods Ready at a 50 % step: the one Ready pod carries 25 %',
      modifiers: [withSteps({ setWeight: 50 }, { pause: {} }), withRevisions('a:4/4', 'b:2/1')],
      weights: { a: 75, b: 25 },
      replicas: { a: 4, b: 2 },
      index: 0,
      message: /waiting for 1 of 2 canary pods to be Ready before sending 50% of traffic to b \(25% now\)/,
    },
    {
      name: 'an HPA-sized stable of 9 at a 30 % step: 3 canary pods, 2 Ready carry 22 %',
      modifiers: [withSteps({ setWeight: 30 }, { pause: {} }), withReplicas(9), withRevisions('a:9/9', 'b:3/2')],
      weights: { a: 78, b: 22 },
      replicas: { a: 9, b: 3 },
      index: 0,
    },
    {
      name: 'after the last step the canary keeps the last weight its Ready pods carry until all are Ready',
      modifiers: [withStatus(midCanary(4, 50)), withRevisions('a:4/4', 'b:4/3')],
      weights: { a: 50, b: 50 },
      replicas: { a: 4, b: 4 },
      index: 4,
      message: /growing to full size: waiting for 1 of 4 canary pods to be Ready before sending 100% of traffic to b/,
    },
    {
      name: 'after the last step, a canary that lost pods while growing gives their share back',
      modifiers: [withStatus(midCanary(4, 50)), withRevisions('a:4/4', 'b:4/1')],
      weights: { a: 75, b: 25 },
      replicas: { a: 4, b: 4 },
      index: 4,
    },
    {
      name: 'replicas routing: a Pending canary pod counts for nothing (0 %)',
      modifiers: [
        withSteps({ setWeight: 25 }, { pause: {} }),
        (input) => {
          input.trafficRouting = 'replicas';
        },
        withRevisions('a:4/4', 'b:2/0'),
      ],
      weights: { a: 100, b: 0 },
      replicas: { a: 4, b: 2 },
      index: 0,
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const result = plan(withStatus(midCanary(0, 0)), withDesired('b'), ...c.modifiers);
      assert.deepEqual(weightsOf(result), c.weights);
      assert.deepEqual(replicasOf(result), c.replicas);
      assert.equal(result.status.canaryWeight, c.weights.b);
      assert.equal(result.status.currentStepIndex, c.index);
      if (c.message) assert.match(result.status.message ?? '', c.message);
    });
  }

  test('an abort sends all traffic back to stable in the same plan that scales the canary to 0', () => {
    const result = plan(
      withStatus(midCanary(2, 50)),
      withRevisions('a:4/4', 'b:2/2'),
      withDesired('b'),
      withRequests({ abort: true }),
    );
    assert.deepEqual(weightsOf(result), { a: 100, b: 0 });
    assert.deepEqual(replicasOf(result), { a: 4, b: 0 });
    assert.equal(result.status.canaryWeight, 0);
  });

  test('a canary never Ready is aborted at the deadline without ever having had a weight', () => {
    let status: StrategyStatus = { ...healthy };
    const weights: number[] = [];
    for (let now = T0; now <= T0 + seconds(700); now += seconds(50)) {
      const result = plan(withStatus(status), withRevisions('a:4/4', 'b:1/0'), withDesired('b'), atTime(now));
      weights.push(weightsOf(result).b ?? 0);
      status = result.status;
    }
    assert.equal(status.phase, 'Degraded');
    assert.deepEqual(new Set(weights), new Set([0]));
  });
});

describe('canary: requests', () => {
  test('promote: step goes past an indefinite pause', () => {
    const result = plan(
      withStatus(midCanary(1, 10, { pauseStartTime: at(T0) })),
      withRevisions('a:4/4', 'b:1/1'),
      withDesired('b'),
      withRequests({ promote: 'step' }),
      atTime(T0 + seconds(5)),
    );
    assert.equal(result.requestHandled, 'promote');
    assert.equal(result.status.lastAction?.action, 'PromoteStep');
    assert.equal(result.status.lastAction?.time, at(T0 + seconds(5)));
    assert.equal(result.status.currentStepIndex, 2);
    assert.equal(result.status.pauseStartTime, undefined);
    assert.deepEqual(
      weightsOf(result),
      { a: 75, b: 25 },
      'the one Ready canary pod carries 25 % until the second is Ready',
    );
    assert.deepEqual(replicasOf(result), { a: 4, b: 2 });
    assert.deepEqual(eventReasons(result), ['Normal/Promoted']);
  });

  test('promote: full from step 0 skips every step: the canary grows to full size first', () => {
    const result = plan(
      withStatus(healthy),
      withRevisions('a:4/4'),
      withDesired('b'),
      withRequests({ promote: 'full' }),
    );
    assert.equal(result.requestHandled, 'promote');
    assert.equal(result.status.lastAction?.action, 'PromoteFull');
    assert.equal(result.status.currentStepIndex, STEPS.length);
    assert.deepEqual(weightsOf(result), { a: 100, b: 0 });
    assert.deepEqual(replicasOf(result), { a: 4, b: 4 });
    assert.equal(conditionOf(result, 'Progressing')?.reason, 'Promoting');
    const done = plan(withStatus(result.status), withRevisions('a:4/4', 'b:4/4'), withDesired('b'));
    assert.equal(done.status.stableRevision, 'b');
    assert.deepEqual(weightsOf(done), { b: 100 });
  });

  test('promote: step after the last step is cleared and ignored', () => {
    const result = plan(
      withStatus(midCanary(4, 50)),
      withRevisions('a:4/4', 'b:2/1'),
      withDesired('b'),
      withRequests({ promote: 'step' }),
    );
    assert.equal(result.requestHandled, 'promote');
    assert.match(result.status.lastAction?.message ?? '', /^ignored/);
    assert.equal(result.status.currentStepIndex, 4);
  });

  test('a request with no release in progress is cleared and ignored', () => {
    for (const requests of [{ promote: 'step' as const }, { abort: true }, { retry: true }]) {
      const result = plan(withStatus(healthy), withRevisions('a:4/4'), withRequests(requests));
      assert.equal(result.status.phase, 'Healthy');
      assert.ok(result.requestHandled);
      assert.deepEqual(eventReasons(result), ['Normal/RequestIgnored']);
    }
  });

  const every = [...STEPS.keys(), STEPS.length];
  for (const index of every) {
    test(`abort at step index ${index}: all traffic to stable, the canary at 0 pods, phase Aborted`, () => {
      const weight = index >= 2 ? 50 : 10;
      const result = plan(
        withStatus(midCanary(index, weight, { pauseStartTime: at(T0) })),
        withRevisions('a:4/4', 'b:2/2'),
        withDesired('b'),
        withRequests({ abort: true }),
      );
      assert.equal(result.status.phase, 'Aborted');
      assert.equal(result.requestHandled, 'abort');
      assert.equal(result.status.lastAction?.action, 'Abort');
      assert.deepEqual(weightsOf(result), { a: 100, b: 0 });
      assert.deepEqual(replicasOf(result), { a: 4, b: 0 });
      assert.deepEqual(eventReasons(result), ['Warning/RolloutAborted']);
      assert.deepEqual(conditionOf(result, 'Aborted'), { status: 'True', reason: 'AbortedByRequest' });
      assert.equal(result.requeueAfterMs, undefined);
    });
  }

  test('abort acts even while spec.paused is true', () => {
    const result = plan(
      withStatus(midCanary(2, 50)),
      withRevisions('a:4/4', 'b:2/2'),
      withDesired('b'),
      withPaused,
      withRequests({ abort: true }),
    );
    assert.equal(result.status.phase, 'Aborted');
  });

  const aborted = midCanary(2, 0, { phase: 'Aborted', abortedRevision: 'b', message: 'aborted on request' });

  test('an aborted release stays aborted, quietly, until retry or a new revision', () => {
    const result = plan(withStatus(aborted), withRevisions('a:4/4', 'b:0/0'), withDesired('b'));
    assert.equal(result.status.phase, 'Aborted');
    assert.deepEqual(replicasOf(result), { a: 4, b: 0 });
    assert.deepEqual(result.events, []);
    assert.equal(result.requestHandled, undefined);
  });

  test('a second abort is cleared and ignored', () => {
    const result = plan(
      withStatus(aborted),
      withRevisions('a:4/4', 'b:0/0'),
      withDesired('b'),
      withRequests({ abort: true }),
    );
    assert.equal(result.status.phase, 'Aborted');
    assert.equal(result.requestHandled, 'abort');
    assert.deepEqual(eventReasons(result), ['Normal/RequestIgnored']);
  });

  test('promote on an aborted release is cleared and ignored: retry first', () => {
    const result = plan(
      withStatus(aborted),
      withRevisions('a:4/4', 'b:0/0'),
      withDesired('b'),
      withRequests({ promote: 'full' }),
    );
    assert.equal(result.status.phase, 'Aborted');
    assert.equal(result.requestHandled, 'promote');
    assert.deepEqual(replicasOf(result), { a: 4, b: 0 });
  });

  test('retry after abort starts the release again from its first step', () => {
    const result = plan(
      withStatus(aborted),
      withRevisions('a:4/4', 'b:0/0'),
      withDesired('b'),
      withRequests({ retry: true }),
    );
    assert.equal(result.requestHandled, 'retry');
    assert.equal(result.status.lastAction?.action, 'Retry');
    assert.equal(result.status.abortedRevision, undefined);
    assert.equal(result.status.currentStepIndex, 0);
    assert.equal(result.status.phase, 'Progressing');
    assert.deepEqual(weightsOf(result), { a: 100, b: 0 }, 'no traffic before the new pod is Ready');
    assert.deepEqual(replicasOf(result), { a: 4, b: 1 });
    assert.deepEqual(eventReasons(result), ['Normal/RetryStarted']);
  });

  test('retry after an automatic abort (Degraded) too', () => {
    const result = plan(
      withStatus({ ...aborted, phase: 'Degraded' }),
      withRevisions('a:4/4', 'b:0/0'),
      withDesired('b'),
      withRequests({ retry: true }),
    );
    assert.equal(result.status.phase, 'Progressing');
  });

  test('retry with no aborted release is cleared and ignored', () => {
    const result = plan(
      withStatus(midCanary(1, 10)),
      withRevisions('a:4/4', 'b:1/1'),
      withDesired('b'),
      withRequests({ retry: true }),
    );
    assert.equal(result.requestHandled, 'retry');
    assert.equal(result.status.phase, 'Paused');
  });

  test('a new revision after an abort starts a fresh release', () => {
    const result = plan(withStatus(aborted), withRevisions('a:4/4', 'b:0/0'), withDesired('c'));
    assert.equal(result.status.phase, 'Progressing');
    assert.equal(result.status.canaryRevision, 'c');
    assert.equal(result.status.abortedRevision, undefined);
    assert.deepEqual(replicasOf(result), { a: 4, c: 1 });
  });
});

describe('canary: a new image mid-release', () => {
  for (const index of [...STEPS.keys(), STEPS.length]) {
    test(`at step index ${index}: the half-released revision is dropped, the newest starts from step 1`, () => {
      const result = plan(
        withStatus(midCanary(index, 50, { pauseStartTime: at(T0 - seconds(10)) })),
        withRevisions('a:4/4', 'b:4/4'),
        withDesired('c'),
      );
      assert.equal(result.status.stableRevision, 'a');
      assert.equal(result.status.canaryRevision, 'c');
      assert.equal(result.status.currentStepIndex, 0);
      assert.equal(result.status.pauseStartTime, undefined);
      assert.deepEqual(weightsOf(result), { a: 100, c: 0 });
      assert.deepEqual(replicasOf(result), { a: 4, c: 1 });
      assert.deepEqual(eventReasons(result), ['Normal/ReleaseRestarted']);
    });
  }

  test('going back to the stable template cancels the release', () => {
    const result = plan(withStatus(midCanary(2, 50)), withRevisions('a:4/4', 'b:2/2'), withDesired('a'));
    assert.equal(result.status.phase, 'Healthy');
    assert.equal(result.status.canaryRevision, undefined);
    assert.deepEqual(replicasOf(result), { a: 4 });
    assert.deepEqual(weightsOf(result), { a: 100 });
    assert.deepEqual(eventReasons(result), ['Normal/ReleaseCancelled']);
  });

  test('a new release drops a previous revision still waiting for its scale-down: two revisions at most', () => {
    const result = plan(
      withStatus({ ...healthy, stableRevision: 'b', scaleDown: { revision: 'a', at: at(T0 + seconds(20)) } }),
      withRevisions('a:4/4', 'b:4/4'),
      withDesired('c'),
    );
    assert.deepEqual(replicasOf(result), { b: 4, c: 1 });
    assert.equal(result.status.scaleDown, undefined);
  });
});

describe('canary: spec.paused freezes everything', () => {
  const cases: { name: string; status: StrategyStatus; revisions: string[]; now?: number; weight?: number }[] = [
    { name: 'at a setWeight step whose canary is Ready', status: midCanary(2, 10), revisions: ['a:4/4', 'b:2/2'] },
    { name: 'at a setWeight step not yet applied', status: midCanary(2, 10), revisions: ['a:4/4', 'b:1/1'] },
    {
      name: 'at a pause whose time is up',
      status: midCanary(3, 50, { pauseStartTime: at(T0) }),
      revisions: ['a:4/4', 'b:2/2'],
      now: T0 + seconds(600),
    },
    {
      name: 'with a canary not Ready long past the deadline: no abort, but no weight on its unready pods either',
      status: midCanary(2, 50, { notReadySince: at(T0) }),
      revisions: ['a:4/4', 'b:2/0'],
      now: T0 + seconds(6000),
      weight: 0,
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const result = plan(
        withStatus(c.status),
        withRevisions(...c.revisions),
        withDesired('b'),
        withPaused,
        withRequests({ promote: 'step' }),
        atTime(c.now ?? T0),
      );
      assert.equal(result.status.phase, 'Paused');
      assert.deepEqual(conditionOf(result, 'Paused'), { status: 'True', reason: 'PausedByUser' });
      assert.equal(result.status.currentStepIndex, c.status.currentStepIndex);
      assert.equal(result.status.canaryWeight, c.weight ?? c.status.canaryWeight);
      assert.equal(result.requestHandled, undefined, 'promote waits in the spec');
      assert.equal(result.requeueAfterMs, undefined);
      assert.deepEqual(result.events, []);
    });
  }

  test('a new image while paused is recorded, but no step is taken', () => {
    const result = plan(withStatus(healthy), withRevisions('a:4/4'), withDesired('b'), withPaused);
    assert.equal(result.status.canaryRevision, 'b');
    assert.equal(result.status.phase, 'Paused');
    assert.deepEqual(weightsOf(result), { a: 100, b: 0 });
  });
});

describe('canary: the health gate', () => {
  test('a canary short of Ready pods starts the deadline clock and requeues for it', () => {
    const result = plan(withStatus(midCanary(2, 50)), withRevisions('a:4/4', 'b:2/1'), withDesired('b'));
    assert.equal(result.status.notReadySince, at(T0));
    assert.equal(result.requeueAfterMs, seconds(600));
  });

  test('progressDeadlineSeconds passed: aborted automatically, phase Degraded, the cause named', () => {
    const result = plan(
      withStatus(midCanary(2, 50, { notReadySince: at(T0) })),
      withRevisions('a:4/4', 'b:2/1'),
      withDesired('b'),
      atTime(T0 + seconds(600)),
    );
    assert.equal(result.status.phase, 'Degraded');
    assert.equal(result.status.abortedRevision, 'b');
    assert.deepEqual(weightsOf(result), { a: 100, b: 0 });
    assert.deepEqual(replicasOf(result), { a: 4, b: 0 });
    assert.deepEqual(eventReasons(result), ['Warning/ProgressDeadlineExceeded']);
    assert.deepEqual(conditionOf(result, 'Aborted'), { status: 'True', reason: 'ProgressDeadlineExceeded' });
    assert.deepEqual(conditionOf(result, 'Ready'), { status: 'False', reason: 'ProgressDeadlineExceeded' });
    assert.match(
      result.status.message ?? '',
      /revision b had 1 of 2 pods Ready after progressDeadlineSeconds \(600s\)/,
    );
    const after = plan(withStatus(result.status), withRevisions('a:4/4', 'b:0/0'), withDesired('b'));
    assert.equal(after.status.phase, 'Degraded');
    assert.deepEqual(after.events, []);
  });

  test('a custom progressDeadlineSeconds, also while the canary grows to full size', () => {
    const result = plan(
      (input) => {
        input.strategy.progressDeadlineSeconds = 60;
      },
      withStatus(midCanary(4, 50, { notReadySince: at(T0) })),
      withRevisions('a:4/4', 'b:4/3'),
      withDesired('b'),
      atTime(T0 + seconds(60)),
    );
    assert.equal(result.status.phase, 'Degraded');
  });

  test('the clock stops once the canary is Ready', () => {
    const result = plan(
      withStatus(midCanary(1, 10, { notReadySince: at(T0) })),
      withRevisions('a:4/4', 'b:1/1'),
      withDesired('b'),
      atTime(T0 + seconds(599)),
    );
    assert.equal(result.status.notReadySince, undefined);
    assert.equal(result.status.phase, 'Paused');
  });

  test('a pause whose canary lost its Ready pod: its weight goes back to stable while the deadline clock runs', () => {
    const result = plan(
      withStatus(midCanary(1, 10, { notReadySince: at(T0) })),
      withRevisions('a:4/4', 'b:1/0'),
      withDesired('b'),
      atTime(T0 + seconds(100)),
    );
    assert.equal(result.status.phase, 'Progressing');
    assert.equal(conditionOf(result, 'Progressing')?.reason, 'WaitingForCanary');
    assert.deepEqual(weightsOf(result), { a: 100, b: 0 });
    assert.equal(result.requeueAfterMs, seconds(500));
    assert.match(
      result.status.message ?? '',
      /step 2 of 4: waiting for 1 of 1 canary pods to be Ready before sending 10% of traffic to b \(0% now\)/,
    );
  });

  test('a timed pause does not end while its canary is short of Ready pods', () => {
    const result = plan(
      withStatus(midCanary(3, 50, { pauseStartTime: at(T0), notReadySince: at(T0 + seconds(100)) })),
      withRevisions('a:4/4', 'b:2/1'),
      withDesired('b'),
      atTime(T0 + seconds(300)),
    );
    assert.equal(result.status.currentStepIndex, 3);
    assert.deepEqual(weightsOf(result), { a: 75, b: 25 });
    assert.equal(result.requeueAfterMs, seconds(400));
  });
});

describe('canary: autoscaled stable', () => {
  const cases: { replicas: number; weight: number; routing?: 'replicas'; canary: number }[] = [
    { replicas: 7, weight: 10, canary: 1 },
    { replicas: 7, weight: 50, canary: 4 },
    { replicas: 10, weight: 30, canary: 3 },
    { replicas: 1, weight: 10, canary: 1 },
    { replicas: 9, weight: 10, routing: 'replicas', canary: 1 },
    { replicas: 4, weight: 50, routing: 'replicas', canary: 4 },
  ];
  for (const c of cases) {
    test(`weight ${c.weight}% of ${c.replicas} stable pods (${c.routing ?? 'mesh'}): ${c.canary} canary pods`, () => {
      const result = plan(
        withSteps({ setWeight: c.weight }, { pause: {} }),
        withStatus(midCanary(0, 0)),
        withRevisions(`a:${c.replicas}/${c.replicas}`),
        withDesired('b'),
        withReplicas(c.replicas),
        (input) => {
          if (c.routing) input.trafficRouting = c.routing;
        },
      );
      assert.equal(replicasOf(result).b, c.canary);
      assert.equal(replicasOf(result).a, c.replicas);
      assert.equal(result.scaleTarget, 'a');
      assert.equal(
        result.traffic.kind === 'weighted' && result.traffic.approximatedByReplicas,
        c.routing === 'replicas',
      );
    });
  }

  test('promotion keeps the capacity the HPA reached: the canary grows to the stable current replicas', () => {
    const result = plan(
      withStatus(midCanary(4, 50)),
      withRevisions('a:9/9', 'b:5/5'),
      withDesired('b'),
      withReplicas(9),
    );
    assert.deepEqual(replicasOf(result), { a: 9, b: 9 });
  });
});

describe('canary: a whole release, and a restart at every plan', () => {
  /** Runs plans until the release is Healthy, with every planned pod Ready before the next plan. */
  function run(crashEveryPlan: boolean) {
    let status: StrategyStatus = { ...healthy };
    let revisions = [{ revision: 'a', replicas: 4, readyReplicas: 4 }];
    let now = T0;
    const history: string[] = [];
    for (let round = 0; round < 40; round++) {
      const input = canaryInput(withStatus(status), withDesired('b'), atTime(now));
      input.revisions = revisions;
      const paused = status.conditions?.find(({ type }) => type === 'Paused');
      if (paused?.reason === 'PausedAtStep') input.requests = { promote: 'step' };
      let result = planCanary(input);
      assertInvariants(result, input);
      assert.deepEqual(planCanary(input), result, 'the same input gives the same plan');
      if (crashEveryPlan) {
        // Killed after applying the children, before writing the status: the next plan starts from the old status.
        input.revisions = settle(result);
        result = planCanary(input);
        assertInvariants(result, input);
      }
      history.push(`${result.status.phase}@${result.status.currentStepIndex}:${JSON.stringify(weightsOf(result))}`);
      status = result.status;
      revisions = settle(result);
      now += result.requeueAfterMs ?? seconds(1);
      if (result.status.phase === 'Healthy' && !result.status.scaleDown) break;
    }
    return { status, history, revisions };
  }

  test('two promotions and a timed pause take b from 10 % to all traffic', () => {
    const { status, history, revisions } = run(false);
    assert.equal(status.stableRevision, 'b');
    assert.deepEqual(revisions, [{ revision: 'b', replicas: 4, readyReplicas: 4 }]);
    assert.deepEqual(history, [
      'Progressing@0:{"a":100,"b":0}',
      'Progressing@1:{"a":90,"b":10}',
      'Paused@1:{"a":90,"b":10}',
      'Progressing@2:{"a":75,"b":25}',
      'Progressing@3:{"a":50,"b":50}',
      'Paused@3:{"a":50,"b":50}',
      'Progressing@4:{"a":50,"b":50}',
      'Progressing@4:{"a":50,"b":50}',
      'Healthy@4:{"b":100}',
      'Healthy@4:{"b":100}',
    ]);
  });

  test('an operator killed after every apply, before its status write, ends in the same state', () => {
    const uninterrupted = run(false);
    const crashed = run(true);
    assert.deepEqual(crashed.revisions, uninterrupted.revisions);
    assert.equal(crashed.status.stableRevision, 'b');
    assert.equal(crashed.status.phase, 'Healthy');
    assert.equal(crashed.status.currentStepIndex, uninterrupted.status.currentStepIndex);
    assert.deepEqual(crashed.history.at(-1), uninterrupted.history.at(-1));
  });
});
