// status: the exit code for each state of a Rollout and its MicroService — never early on a state
// the controller has not caught up with, never waiting out a pause that only a person ends.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MicroService } from '../api/microservice.ts';
import type { Rollout } from '../api/rollout.ts';
import { actedOn, describeOutcome, restartPatch, rolloutPatch } from './actions.ts';
import { type Awaited, decideServiceStatus, decideStatus, EXIT } from './status.ts';

type Status = NonNullable<Rollout['status']>;

function rollout(
  status: Status & { pausedReason?: string },
  spec: Partial<Rollout['spec']> = {},
  generation = 3,
): Rollout {
  const { pausedReason, ...rest } = status;
  return {
    apiVersion: 'flotilla.dev/v1alpha1',
    kind: 'Rollout',
    metadata: { name: 'orders', namespace: 'shop', generation },
    spec: {
      serviceRef: { name: 'orders' },
      strategy: {
        canary: { steps: [{ setWeight: 10 }, { pause: {} }, { setWeight: 50 }, { pause: { duration: '2m' } }] },
      },
      ...spec,
    },
    status: {
      observedGeneration: 3,
      ...rest,
      conditions: pausedReason
        ? [
            {
              type: 'Paused',
              status: 'True',
              reason: pausedReason,
              message: '',
              lastTransitionTime: '2026-11-30T12:00:00Z',
            },
          ]
        : rest.conditions,
    },
  } as Rollout;
}

function service(ready: boolean, observed = 5): MicroService {
  return {
    metadata: { name: 'orders', namespace: 'shop', generation: 5 },
    spec: { image: 'registry.example.com/shop/orders:1.5.0' },
    status: {
      observedGeneration: observed,
      conditions: [
        {
          type: 'Ready',
          status: ready ? 'True' : 'False',
          reason: 'x',
          message: '',
          lastTransitionTime: '2026-11-30T12:00:00Z',
        },
      ],
    },
  } as MicroService;
}

const aborted: Status = {
  phase: 'Degraded',
  message: 'canary not Ready within 600s',
  conditions: [
    {
      type: 'Aborted',
      status: 'True',
      reason: 'ProgressDeadlineExceeded',
      message: '',
      lastTransitionTime: '2026-11-30T12:00:00Z',
    },
  ],
};

const cases: { name: string; rollout: Rollout; ms?: MicroService; until?: Awaited; exit: number | undefined }[] = [
  {
    name: 'Healthy and the service Ready: done',
    rollout: rollout({ phase: 'Healthy' }),
    ms: service(true),
    exit: EXIT.reached,
  },
  {
    name: 'Healthy while the service is not Ready yet (its status lags): wait',
    rollout: rollout({ phase: 'Healthy' }),
    ms: service(false),
    exit: undefined,
  },
  {
    name: 'Healthy but the controller has not seen the service’s new spec: wait',
    rollout: rollout({ phase: 'Healthy' }),
    ms: service(true, 4),
    exit: undefined,
  },
  {
    name: 'Healthy but the controller has not seen the Rollout’s new spec: wait',
    rollout: rollout({ phase: 'Healthy' }, {}, 4),
    ms: service(true),
    exit: undefined,
  },
  {
    name: 'a promotion still in the spec: wait',
    rollout: rollout({ phase: 'Paused', currentStepIndex: 1, pausedReason: 'PausedAtStep' }, { promote: 'step' }),
    ms: service(false),
    exit: undefined,
  },
  {
    name: 'a request accepted and not carried out: wait',
    rollout: rollout({
      phase: 'Paused',
      currentStepIndex: 1,
      pausedReason: 'PausedAtStep',
      acceptedRequest: { promote: 'step' },
    }),
    ms: service(false),
    exit: undefined,
  },
  {
    name: 'Progressing: wait',
    rollout: rollout({ phase: 'Progressing', currentStepIndex: 0 }),
    ms: service(false),
    exit: undefined,
  },
  { name: 'Degraded: failed', rollout: rollout(aborted), ms: service(false), exit: EXIT.failed },
  { name: 'Aborted: failed', rollout: rollout({ phase: 'Aborted' }), ms: service(false), exit: EXIT.failed },
  {
    name: 'paused at a step without duration: held, not waited out',
    rollout: rollout({ phase: 'Paused', currentStepIndex: 1, pausedReason: 'PausedAtStep' }),
    ms: service(false),
    exit: EXIT.held,
  },
  {
    name: 'held by spec.paused: held',
    rollout: rollout({ phase: 'Paused', currentStepIndex: 2, pausedReason: 'PausedByUser' }, { paused: true }),
    ms: service(false),
    exit: EXIT.held,
  },
  {
    name: 'a timed pause: wait, it ends by itself',
    rollout: rollout({ phase: 'Paused', currentStepIndex: 3, pausedReason: 'PausedForDuration' }),
    ms: service(false),
    exit: undefined,
  },
  {
    name: 'a blue-green preview awaiting promotion: held',
    rollout: rollout({ phase: 'Paused', pausedReason: 'AwaitingPromotion' }),
    ms: service(false),
    exit: EXIT.held,
  },
  {
    name: '--until Paused, paused at a step: done',
    rollout: rollout({ phase: 'Paused', currentStepIndex: 1, pausedReason: 'PausedAtStep' }),
    ms: service(false),
    until: 'Paused',
    exit: EXIT.reached,
  },
  {
    name: '--until Paused, a timed pause counts too',
    rollout: rollout({ phase: 'Paused', currentStepIndex: 3, pausedReason: 'PausedForDuration' }),
    ms: service(false),
    until: 'Paused',
    exit: EXIT.reached,
  },
  {
    name: '--until Paused, released with no pause left: held (nothing to wait for)',
    rollout: rollout({ phase: 'Healthy' }),
    ms: service(true),
    until: 'Paused',
    exit: EXIT.held,
  },
  {
    name: '--until Paused, Degraded: failed',
    rollout: rollout(aborted),
    ms: service(false),
    until: 'Paused',
    exit: EXIT.failed,
  },
];

describe('status', () => {
  for (const c of cases) {
    it(c.name, () => {
      assert.equal(decideStatus(c.rollout, c.ms, c.until ?? 'Healthy').exitCode, c.exit);
    });
  }

  it('says why a release failed', () => {
    assert.equal(
      decideStatus(rollout(aborted), service(false), 'Healthy').line,
      'Degraded  — canary not Ready within 600s  (reason: ProgressDeadlineExceeded)',
    );
  });

  it('prints phase, step and weight', () => {
    const paused = rollout({
      phase: 'Paused',
      currentStepIndex: 1,
      canaryRevision: 'bbcc0b7d60',
      canaryWeight: 10,
      message: 'at step 2',
      pausedReason: 'PausedAtStep',
    });
    assert.equal(
      decideStatus(paused, service(false), 'Healthy').line,
      'Paused  step 2/4  weight 10%  — at step 2  (PausedAtStep: waiting for a promotion)',
    );
  });
});

describe('status of a service without a Rollout', () => {
  it('is done once Ready at the latest spec, never on an older status', () => {
    assert.equal(decideServiceStatus(service(true)).exitCode, EXIT.reached);
    assert.equal(decideServiceStatus(service(true, 4)).exitCode, undefined);
    assert.equal(decideServiceStatus(service(false)).exitCode, undefined);
  });

  it('fails when Degraded, with the reason', () => {
    const degraded = service(false);
    degraded.status?.conditions?.push({
      type: 'Degraded',
      status: 'True',
      reason: 'DeploymentFailed',
      message: 'pods crash',
      lastTransitionTime: '2026-11-30T12:00:00Z',
    } as never);
    assert.deepEqual(decideServiceStatus(degraded), {
      exitCode: EXIT.failed,
      line: 'Degraded  pods 0/0  — pods crash  (reason: DeploymentFailed)',
    });
  });
});

describe('actions', () => {
  it('send exactly the patches the README documents for kubectl', async () => {
    const { readFileSync } = await import('node:fs');
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    const documented = [...readme.matchAll(/kubectl patch rollout orders -n shop --type merge -p '([^']+)'/g)].map(
      (m) => m[1],
    );
    for (const action of ['promote', 'promote-full', 'abort', 'retry', 'pause'] as const) {
      assert.ok(
        documented.includes(JSON.stringify(rolloutPatch(action))),
        `${action}: ${JSON.stringify(rolloutPatch(action))}`,
      );
    }
    assert.deepEqual(rolloutPatch('resume'), { spec: { paused: false } });
  });

  it('restart sends the spec.restartedAt patch the README documents, in whole seconds', async () => {
    const { readFileSync } = await import('node:fs');
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    const patch = restartPatch(new Date('2026-11-30T12:00:00.123Z'));
    assert.deepEqual(patch, { spec: { restartedAt: '2026-11-30T12:00:00Z' } });
    assert.ok(
      readme.includes(`kubectl patch microservice orders -n shop --type merge -p '${JSON.stringify(patch)}'`),
      'the README shows the same patch for plain kubectl',
    );
  });

  it('wait until the controller has cleared and carried out a one-shot request', () => {
    const sent = rollout({ phase: 'Paused', currentStepIndex: 1 }, { promote: 'step' }, 4);
    const cleared = rollout({ phase: 'Paused', currentStepIndex: 3 }, {}, 5);
    (cleared.status as Status).observedGeneration = 5;
    assert.equal(actedOn('promote', sent, sent), false);
    assert.equal(
      actedOn('promote', sent, { ...cleared, status: { ...cleared.status, acceptedRequest: { promote: 'step' } } }),
      false,
    );
    assert.equal(actedOn('promote', sent, cleared), true);
    const done = {
      ...cleared,
      status: {
        ...cleared.status,
        lastAction: { action: 'PromoteStep', time: '2026-11-30T12:01:00Z', message: 'past the pause at step 2' },
      },
    };
    assert.equal(describeOutcome('promote', sent, done), 'PromoteStep: past the pause at step 2 (now Paused)');
    assert.match(describeOutcome('promote', done, done), /without acting on it/);
  });
});
