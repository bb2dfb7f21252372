import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../../kube/objects.ts';
import { VerdictChanges } from './verdict-changes.ts';

const run = (phase: string, metricPhase: string, count: number): KubeObject => ({
  metadata: { name: 'orders-b-0-step1', namespace: 'shop', uid: 'u1', labels: { 'flotilla.dev/service': 'orders' } },
  status: { phase, metricResults: [{ name: 'rate', phase: metricPhase, count }] },
});

describe('VerdictChanges', () => {
  it('reconciles the service for a new run and for each change of a verdict, not for each measurement', () => {
    const changes = new VerdictChanges();
    assert.deepEqual(changes.keysFor(run('Running', 'Running', 0)), ['shop/orders']);
    assert.deepEqual(changes.keysFor(run('Running', 'Running', 1)), []);
    assert.deepEqual(changes.keysFor(run('Running', 'Running', 2)), []);
    assert.deepEqual(changes.keysFor(run('Failed', 'Failed', 3)), ['shop/orders']);
    assert.deepEqual(changes.keysFor({ metadata: { name: 'x', namespace: 'shop' } }), [], 'no service label');
  });
});
