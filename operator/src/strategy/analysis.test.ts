// The strategies waiting on analyses: a canary's analysis step and background analysis, and a
// blue-green preview's pre-promotion analysis. The runs are given by their key, as observed.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AnalysisPhase } from '../api/analysis.ts';
import { planBlueGreen } from './blue-green.ts';
import { planCanary } from './canary.ts';
import {
  blueGreenInput,
  canaryInput,
  checkedPlan,
  conditionOf,
  eventReasons,
  midCanary,
  weightsOf,
  withDesired,
  withRequests,
  withRevisions,
  withStatus,
  withSteps,
} from './fixtures.ts';
import { analysisKey } from './release.ts';
import type { CanaryInput, ObservedAnalysisRun, StrategyInput } from './types.ts';

const analysis = { templates: [{ templateName: 'success-rate' }] };
const run = (phase: AnalysisPhase, message?: string): ObservedAnalysisRun => ({
  name: 'run',
  phase,
  ...(message ? { message } : {}),
});
const withRuns =
  (runs: Record<string, ObservedAnalysisRun>) =>
  (input: StrategyInput<unknown>): void => {
    input.analysisRuns = new Map(Object.entries(runs));
  };
const withBackground =
  (startingStep = 0) =>
  (input: CanaryInput): void => {
    input.strategy.analysis = { ...analysis, startingStep };
  };

const stepKey = (index: number, attempt = 0) => analysisKey('b', attempt, 'Step', index);
const backgroundKey = (attempt = 0) => analysisKey('b', attempt, 'Background');

describe('canary: an analysis step', () => {
  // b at step 1 (the analysis) with 25%: one of its one pod Ready, over a stable of 4
  const atAnalysis = [
    withSteps({ setWeight: 25 }, { analysis }, { setWeight: 50 }),
    withStatus(midCanary(1, 25)),
    withRevisions('a:4/4', 'b:1/1'),
    withDesired('b'),
  ];
  const cases: {
    name: string;
    runs: Record<string, ObservedAnalysisRun>;
    phase: string;
    reason: string;
    step: number;
    events: string[];
    message?: RegExp;
  }[] = [
    {
      name: 'no run yet: it is wanted, and the release waits',
      runs: {},
      phase: 'Progressing',
      reason: 'AnalysisRunning',
      step: 1,
      events: [],
      message: /step 2 of 3: analysis starting of b with 25% of traffic/,
    },
    {
      name: 'running: the release waits',
      runs: { [stepKey(1)]: run('Running', 'measuring 1 metrics') },
      phase: 'Progressing',
      reason: 'AnalysisRunning',
      step: 1,
      events: [],
    },
    {
      name: 'Successful: the step is done',
      runs: { [stepKey(1)]: run('Successful') },
      phase: 'Progressing',
      reason: 'WaitingForCanary',
      step: 2,
      events: ['Normal/StepCompleted'],
    },
    {
      name: 'Failed: aborted with AnalysisFailed, naming why',
      runs: {
        [stepKey(1)]: run('Failed', 'metric success-rate Failed: 0.5 does not meet successCondition result >= 0.95'),
      },
      phase: 'Degraded',
      reason: 'AnalysisFailed',
      step: 1,
      events: ['Warning/AnalysisFailed'],
      message: /analysis run failed: metric success-rate Failed: 0\.5 does not meet .*: aborted, all traffic back to a/,
    },
    {
      name: 'Error (past consecutiveErrorLimit): aborted too',
      runs: { [stepKey(1)]: run('Error', 'ECONNREFUSED') },
      phase: 'Degraded',
      reason: 'AnalysisFailed',
      step: 1,
      events: ['Warning/AnalysisFailed'],
      message: /analysis run erred: ECONNREFUSED/,
    },
    {
      name: 'Inconclusive: paused until promote or abort',
      runs: { [stepKey(1)]: run('Inconclusive', 'no data') },
      phase: 'Paused',
      reason: 'AnalysisInconclusive',
      step: 1,
      events: ['Warning/AnalysisInconclusive'],
      message: /analysis run was Inconclusive \(no data\); promote to go on, or abort/,
    },
    {
      name: 'a run of an earlier attempt does not count',
      runs: { [stepKey(1, 1)]: run('Failed') },
      phase: 'Progressing',
      reason: 'AnalysisRunning',
      step: 1,
      events: [],
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const plan = checkedPlan(planCanary, () => canaryInput(...atAnalysis, withRuns(c.runs)));
      assert.equal(plan.status.phase, c.phase, plan.status.message);
      assert.equal(conditionOf(plan, c.phase === 'Degraded' ? 'Aborted' : 'Progressing')?.reason, c.reason);
      assert.equal(plan.status.currentStepIndex, c.step);
      assert.deepEqual(eventReasons(plan), c.events);
      if (c.message) assert.match(plan.status.message ?? '', c.message);
      if (c.phase === 'Degraded') assert.deepEqual(weightsOf(plan), { a: 100, b: 0 });
      if (c.step === 1 && c.phase !== 'Degraded') {
        assert.deepEqual(
          plan.analysis?.map((wanted) => wanted.key),
          [stepKey(1)],
        );
        assert.deepEqual(weightsOf(plan), { a: 75, b: 25 }, 'the canary keeps its weight while judged');
      }
    });
  }

  test('an analysis waits for the canary to carry its weight before it is started', () => {
    const plan = planCanary(canaryInput(...atAnalysis, withRevisions('a:4/4', 'b:1/0'), withRuns({})));
    assert.deepEqual(plan.analysis, []);
    assert.equal(conditionOf(plan, 'Progressing')?.reason, 'WaitingForCanary');
  });

  test('promote step goes past an Inconclusive analysis', () => {
    const plan = planCanary(
      canaryInput(...atAnalysis, withRuns({ [stepKey(1)]: run('Inconclusive') }), withRequests({ promote: 'step' })),
    );
    assert.equal(plan.status.currentStepIndex, 2);
    assert.equal(plan.status.lastAction?.action, 'PromoteStep');
  });

  test('promote full skips the pending analyses and says so', () => {
    const plan = planCanary(canaryInput(...atAnalysis, withRuns({}), withRequests({ promote: 'full' })));
    assert.equal(plan.status.currentStepIndex, 3);
    assert.match(plan.status.lastAction?.message ?? '', /1 pending analysis skipped/);
    assert.ok(eventReasons(plan).includes('Normal/AnalysisSkipped'));
    assert.deepEqual(plan.analysis, []);
  });

  test('an abort by analysis stays, with its reason, until retry; retry starts a fresh attempt', () => {
    const failed = planCanary(canaryInput(...atAnalysis, withRuns({ [stepKey(1)]: run('Failed', 'bad') })));
    const later = planCanary(
      canaryInput(...atAnalysis, withStatus(failed.status), withRuns({ [stepKey(1)]: run('Failed') })),
    );
    assert.equal(later.status.phase, 'Degraded');
    assert.equal(conditionOf(later, 'Aborted')?.reason, 'AnalysisFailed');
    assert.deepEqual(later.events, []);
    const retried = planCanary(canaryInput(...atAnalysis, withStatus(failed.status), withRequests({ retry: true })));
    assert.equal(retried.status.attempt, 1);
    assert.equal(retried.status.abortedRevision, undefined);
    assert.notEqual(retried.status.phase, 'Degraded');
  });
});

describe('canary: background analysis', () => {
  const atPause = [
    withSteps({ setWeight: 25 }, { pause: {} }, { setWeight: 50 }, { pause: {} }),
    withRevisions('a:4/4', 'b:1/1'),
    withStatus(midCanary(1, 25)),
    withDesired('b'),
  ];
  test('runs from startingStep, beside the step', () => {
    const before = planCanary(canaryInput(...atPause, withBackground(2), withRuns({})));
    assert.deepEqual(before.analysis, []);
    const from = planCanary(canaryInput(...atPause, withBackground(1), withRuns({})));
    assert.deepEqual(
      from.analysis?.map((wanted) => wanted.gate),
      ['Background'],
    );
    assert.equal(from.status.phase, 'Paused', 'the pause goes on while the analysis measures');
  });
  test('Failed aborts at once, whatever the step waits for', () => {
    const plan = checkedPlan(planCanary, () =>
      canaryInput(...atPause, withBackground(), withRuns({ [backgroundKey()]: run('Failed', 'too many errors') })),
    );
    assert.equal(plan.status.phase, 'Degraded');
    assert.equal(conditionOf(plan, 'Aborted')?.reason, 'AnalysisFailed');
    assert.deepEqual(weightsOf(plan), { a: 100, b: 0 });
  });
  test('Inconclusive pauses; promote accepts it and measures afresh (a new attempt)', () => {
    const inconclusive = withRuns({ [backgroundKey()]: run('Inconclusive', 'no data') });
    const paused = planCanary(canaryInput(...atPause, withBackground(), inconclusive));
    assert.equal(conditionOf(paused, 'Paused')?.reason, 'AnalysisInconclusive');
    const promoted = planCanary(
      canaryInput(...atPause, withBackground(), inconclusive, withRequests({ promote: 'step' })),
    );
    assert.equal(promoted.status.currentStepIndex, 2);
    assert.equal(promoted.status.attempt, 1);
    assert.deepEqual(
      promoted.analysis?.map((wanted) => wanted.key),
      [backgroundKey(1)],
    );
    assert.match(promoted.status.lastAction?.message ?? '', /Inconclusive background analysis run is accepted/);
  });
  test('stops after the last step', () => {
    const done = planCanary(canaryInput(...atPause, withBackground(), withStatus(midCanary(4, 50)), withRuns({})));
    assert.deepEqual(done.analysis, []);
  });
});

describe('blue-green: pre-promotion analysis', () => {
  const strategy = { autoPromotionEnabled: true, prePromotionAnalysis: analysis };
  const preview = {
    strategy: 'BlueGreen' as const,
    phase: 'Progressing' as const,
    stableRevision: 'a',
    canaryRevision: 'b',
    currentStepIndex: 0,
  };
  const key = analysisKey('b', 0, 'PrePromotion');
  const plan = (runs: Record<string, ObservedAnalysisRun>, ...more: ((input: StrategyInput<unknown>) => void)[]) =>
    planBlueGreen(
      blueGreenInput(
        strategy,
        withStatus(preview),
        withRevisions('a:4/4', 'b:4/4'),
        withDesired('b'),
        withRuns(runs),
        ...more,
      ),
    );

  test('a Ready preview is judged before the switch; the switch waits', () => {
    const waiting = plan({});
    assert.equal(waiting.status.currentStepIndex, 0);
    assert.deepEqual(
      waiting.analysis?.map((wanted) => wanted.gate),
      ['PrePromotion'],
    );
    assert.deepEqual(waiting.traffic, { kind: 'blueGreen', active: 'a', preview: 'b' });
    assert.match(waiting.status.message ?? '', /waiting for the pre-promotion analysis/);
  });
  test('Successful: auto-promotion goes ahead', () => {
    assert.equal(plan({ [key]: run('Successful') }).status.currentStepIndex, 1);
  });
  test('Failed: aborted, the preview never active', () => {
    const failed = plan({ [key]: run('Failed', 'bad') });
    assert.equal(conditionOf(failed, 'Aborted')?.reason, 'AnalysisFailed');
    assert.deepEqual(failed.traffic, { kind: 'blueGreen', active: 'a' });
  });
  test('promote step waits for a verdict; promote full skips it and says so', () => {
    const step = plan({}, withRequests({ promote: 'step' }));
    assert.equal(step.status.currentStepIndex, 0);
    assert.match(step.status.lastAction?.message ?? '', /ignored: the pre-promotion analysis of b has no verdict yet/);
    const full = plan({}, withRequests({ promote: 'full' }));
    assert.equal(full.status.currentStepIndex, 1);
    assert.match(full.status.lastAction?.message ?? '', /pre-promotion analysis is skipped/);
  });
  test('Inconclusive pauses until promote', () => {
    const paused = plan({ [key]: run('Inconclusive') });
    assert.equal(conditionOf(paused, 'Paused')?.reason, 'AnalysisInconclusive');
    assert.equal(plan({ [key]: run('Inconclusive') }, withRequests({ promote: 'step' })).status.currentStepIndex, 1);
  });
});

describe('blue-green: post-promotion analysis', () => {
  const strategy = { autoPromotionEnabled: true, postPromotionAnalysis: analysis };
  const key = analysisKey('b', 0, 'PostPromotion');
  const at = (index: number) => ({
    strategy: 'BlueGreen' as const,
    phase: 'Progressing' as const,
    stableRevision: 'a',
    canaryRevision: 'b',
    currentStepIndex: index,
  });
  const plan = (
    index: number,
    runs: Record<string, ObservedAnalysisRun>,
    ...more: ((input: StrategyInput<unknown>) => void)[]
  ) =>
    checkedPlan(planBlueGreen, () =>
      blueGreenInput(
        strategy,
        withStatus(at(index)),
        withRevisions('a:4/4', 'b:4/4'),
        withDesired('b'),
        withRuns(runs),
        ...more,
      ),
    );

  test('the promoted revision takes the traffic; the old one keeps its pods while the analysis judges', () => {
    const judged = plan(1, {});
    assert.equal(judged.status.currentStepIndex, 2);
    assert.deepEqual(judged.traffic, { kind: 'blueGreen', active: 'b' });
    assert.deepEqual(
      judged.revisions.map((r) => `${r.revision}:${r.role}:${r.replicas}`),
      ['b:active:4', 'a:previous:4'],
    );
    assert.equal(judged.status.stableRevision, 'a', 'not released until the analysis passes');
    assert.deepEqual(eventReasons(judged), ['Normal/Switched']);
    assert.deepEqual(
      judged.analysis?.map((wanted) => wanted.key),
      [key],
    );
  });
  test('Successful: released, the old revision scaled down after its delay', () => {
    const done = plan(2, { [key]: run('Successful') });
    assert.equal(done.status.phase, 'Healthy');
    assert.equal(done.status.stableRevision, 'b');
  });
  test('Failed: the Service switches back to the old revision and the release is aborted', () => {
    const failed = plan(2, { [key]: run('Failed', 'bad') });
    assert.equal(conditionOf(failed, 'Aborted')?.reason, 'AnalysisFailed');
    assert.deepEqual(failed.traffic, { kind: 'blueGreen', active: 'a' });
  });
  test('Inconclusive pauses, still switched; promote accepts it and releases', () => {
    const paused = plan(2, { [key]: run('Inconclusive') });
    assert.equal(conditionOf(paused, 'Paused')?.reason, 'AnalysisInconclusive');
    assert.deepEqual(paused.traffic, { kind: 'blueGreen', active: 'b' });
    const promoted = plan(2, { [key]: run('Inconclusive') }, withRequests({ promote: 'step' }));
    assert.equal(promoted.status.phase, 'Healthy');
    assert.equal(promoted.status.lastAction?.action, 'PromoteStep');
  });
  test('promote step does not cut a running analysis short; promote full does, and says so', () => {
    const step = plan(2, { [key]: run('Running') }, withRequests({ promote: 'step' }));
    assert.equal(step.status.currentStepIndex, 2);
    assert.match(step.status.lastAction?.message ?? '', /ignored: b is already active/);
    const full = plan(2, { [key]: run('Running') }, withRequests({ promote: 'full' }));
    assert.equal(full.status.phase, 'Healthy');
    assert.match(full.status.lastAction?.message ?? '', /post-promotion analysis is skipped/);
  });
  test('held by spec.paused after the switch, the traffic stays on the new revision', () => {
    const held = plan(2, { [key]: run('Running') }, (input) => {
      input.paused = true;
    });
    assert.deepEqual(held.traffic, { kind: 'blueGreen', active: 'b' });
  });
});
