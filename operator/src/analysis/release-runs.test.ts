import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { verdictsOf } from '../controllers/analysis/verdict-changes.ts';
import type { KubeObject } from '../kube/objects.ts';
import type { WantedAnalysis } from '../strategy/index.ts';
import { FINISHED_RUNS_KEPT, observeRuns, planRuns, refreshRuns, releaseView, summarizeRuns } from './release-runs.ts';

const rollout: KubeObject = { metadata: { name: 'orders', namespace: 'shop', uid: 'u1' } };
const wanted = (key: string): WantedAnalysis => ({
  key,
  gate: 'Step',
  stepIndex: 1,
  revision: 'b',
  attempt: 0,
  request: { templates: [{ templateName: 't' }] },
});
const run = (
  key: string,
  phase: string | undefined,
  created = '2026-01-01T00:00:00Z',
  terminate = false,
): KubeObject => ({
  metadata: {
    name: `orders-${key}`,
    namespace: 'shop',
    creationTimestamp: created,
    labels: { 'flotilla.dev/analysis-key': key, 'flotilla.dev/rollout': 'orders' },
  },
  spec: { terminate },
  status: phase
    ? {
        phase,
        message: `${phase}!`,
        metricResults: [
          {
            name: 'rate',
            phase,
            condition: 'success: result >= 0.99',
            measurements: [{ startedAt: created, phase, value: '0.5' }],
          },
        ],
      }
    : undefined,
});

describe('the runs of a release', () => {
  it('makes the wanted runs that do not exist, and only those', () => {
    const plan = planRuns(rollout, [wanted('k1'), wanted('k2')], [run('k1', 'Running')]);
    assert.deepEqual(
      plan.create.map((w) => w.key),
      ['k2'],
    );
    assert.deepEqual(plan.terminate, []);
  });
  it('stops the unwanted runs still measuring, once', () => {
    const plan = planRuns(
      rollout,
      [],
      [run('old', 'Running'), run('stopping', 'Running', undefined, true), run('done', 'Successful')],
    );
    assert.deepEqual(plan.terminate, ['orders-old']);
  });
  it(`keeps the last ${FINISHED_RUNS_KEPT} finished runs and deletes the older ones`, () => {
    const finished = Array.from({ length: FINISHED_RUNS_KEPT + 2 }, (_, i) =>
      run(`r${i}`, 'Failed', `2026-01-01T00:00:${String(10 + i)}Z`),
    );
    const plan = planRuns(rollout, [wanted('r0')], finished);
    // r0 is wanted: kept whatever its age; of the others the two oldest go.
    assert.deepEqual(plan.remove, ['orders-r1']);
    assert.equal(planRuns(rollout, [], finished).remove.length, 2);
  });
  it('reads each run by its key, and shows the wanted ones with each metric’s last value', () => {
    const runs = [run('k1', 'Failed')];
    assert.deepEqual(observeRuns(runs).get('k1'), { name: 'orders-k1', phase: 'Failed', message: 'Failed!' });
    const [summary] = summarizeRuns(rollout, [wanted('k1'), wanted('k2')], runs);
    assert.deepEqual(summary, {
      name: 'orders-k1',
      gate: 'Step',
      phase: 'Failed',
      message: 'Failed!',
      metrics: [{ name: 'rate', phase: 'Failed', lastValue: '0.5', condition: 'success: result >= 0.99' }],
    });
    assert.equal(summarizeRuns(rollout, [wanted('k2')], runs)[0]?.phase, 'Pending');
    assert.deepEqual(
      refreshRuns(summarizeRuns(rollout, [wanted('k1'), wanted('k2')], runs), runs).map((s) => s.name),
      ['orders-k1'],
    );
  });
  it('keeps in its view of a run what the release reads, and only the last measurement of each metric', () => {
    const full = structuredClone(run('k1', 'Running', '2026-01-01T00:00:10Z', true)) as KubeObject & {
      metadata: KubeObject['metadata'] & { managedFields?: unknown[] };
      status: { metricResults: { measurements: unknown[]; count?: number }[] };
    };
    full.metadata.uid = 'run-uid';
    full.metadata.resourceVersion = '42';
    full.metadata.managedFields = [{ manager: 'flotilla' }];
    const results = full.status.metricResults[0] as { measurements: unknown[]; count?: number };
    results.count = 3;
    results.measurements = [
      { startedAt: '2026-01-01T00:00:10Z', phase: 'Successful', value: '0.123' },
      { startedAt: '2026-01-01T00:00:15Z', phase: 'Successful', value: '0.7' },
      { startedAt: '2026-01-01T00:00:20Z', phase: 'Running', value: '0.5' },
    ];
    const view = releaseView(full);
    const wants = [wanted('k1'), wanted('k2')];
    assert.deepEqual(observeRuns([view]), observeRuns([full]));
    assert.deepEqual(summarizeRuns(rollout, wants, [view]), summarizeRuns(rollout, wants, [full]));
    assert.deepEqual(planRuns(rollout, [], [view]), planRuns(rollout, [], [full]));
    assert.equal(verdictsOf(view), verdictsOf(full));
    assert.equal(view.metadata.resourceVersion, '42');
    const kept = JSON.stringify(view);
    assert.ok(!kept.includes('0.123') && !kept.includes('managedFields') && !kept.includes('"count"'), kept);
  });
});
