import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../../kube/objects.ts';
import {
  ignoredRolloutStatus,
  SERVICE_HAS_ANOTHER_ROLLOUT,
  SERVICE_NOT_FOUND,
  serviceHasAnotherRollout,
  serviceNotFound,
} from './rollout-status.ts';

const rollout = (status: object = {}): KubeObject => ({
  apiVersion: 'flotilla.dev/v1alpha1',
  kind: 'Rollout',
  metadata: { name: 'orders-release', namespace: 'shop', generation: 3 },
  spec: { serviceRef: { name: 'orders' }, strategy: { rolling: {} } },
  status,
});

const serviceNotFoundStatus = (r: KubeObject, now: string) => ignoredRolloutStatus(r, serviceNotFound(r), now);

describe('ignoredRolloutStatus', () => {
  it('names the missing service, Degraded, not Ready and not aborted', () => {
    const status = serviceNotFoundStatus(rollout(), '2026-11-24T10:00:00.123Z');
    assert.equal(status.phase, 'Degraded');
    assert.equal(status.observedGeneration, 3);
    assert.match(status.message ?? '', /MicroService shop\/orders .*does not exist/);
    assert.deepEqual(
      status.conditions?.map((c) => `${c.type}=${c.status}/${c.reason}@${c.lastTransitionTime}`),
      [
        `Ready=False/${SERVICE_NOT_FOUND}@2026-11-24T10:00:00Z`,
        `Progressing=False/${SERVICE_NOT_FOUND}@2026-11-24T10:00:00Z`,
        'Paused=False/NotPaused@2026-11-24T10:00:00Z',
        'Aborted=False/NotAborted@2026-11-24T10:00:00Z',
      ],
    );
  });

  it('keeps what it recorded of earlier releases, and the transition times of conditions that stay False', () => {
    const before = {
      stableRevision: 'abc123',
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          reason: 'RolloutHealthy',
          message: '',
          lastTransitionTime: '2026-11-01T00:00:00Z',
        },
        {
          type: 'Paused',
          status: 'False',
          reason: 'NotPaused',
          message: '',
          lastTransitionTime: '2026-11-01T00:00:00Z',
        },
      ],
    };
    const status = serviceNotFoundStatus(rollout(before), '2026-11-24T10:00:00Z');
    assert.equal(status.stableRevision, 'abc123');
    const at = (type: string) => status.conditions?.find((c) => c.type === type)?.lastTransitionTime;
    assert.equal(at('Ready'), '2026-11-24T10:00:00Z', 'Ready flipped to False now');
    assert.equal(at('Paused'), '2026-11-01T00:00:00Z', 'Paused stayed False');
  });

  it('is the same status when nothing changed, so a second reconcile writes nothing', () => {
    const first = serviceNotFoundStatus(rollout(), '2026-11-24T10:00:00Z');
    const second = serviceNotFoundStatus(rollout(first), '2026-11-24T10:05:00Z');
    assert.deepEqual(second, first);
  });

  it('names the Rollout that releases the service when another one does', () => {
    const status = ignoredRolloutStatus(
      rollout(),
      serviceHasAnotherRollout(rollout(), 'orders'),
      '2026-11-24T10:00:00Z',
    );
    assert.equal(status.phase, 'Degraded');
    assert.equal(status.conditions?.find((c) => c.type === 'Ready')?.reason, SERVICE_HAS_ANOTHER_ROLLOUT);
    assert.match(status.message ?? '', /MicroService shop\/orders is released by Rollout orders.*this one is ignored/);
  });
});
