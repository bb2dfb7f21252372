import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { computeDrift, DESIRED_HASH_ANNOTATION, isContainedIn, withDesiredHash } from './drift.ts';
import { computeDeploymentHealth, keepCreating } from './workloads.ts';

describe('isContainedIn', () => {
  const cases: [string, unknown, unknown, boolean][] = [
    ['equal scalars', 1, 1, true],
    ['different scalars', 'a', 'b', false],
    ['extra fields in observed', { a: 1 }, { a: 1, b: 2 }, true],
    ['missing field', { a: 1 }, { b: 2 }, false],
    ['empty array matches absent', { a: [] }, {}, true],
    ['empty object matches absent', { a: {} }, {}, true],
    ['array length differs', [1, 2], [1, 2, 3], false],
    ['array elements contained at index', [{ name: 'x' }], [{ name: 'x', protocol: 'TCP' }], true],
    ['array order matters', [1, 2], [2, 1], false],
    ['number is not a string', { port: 80 }, { port: '80' }, false],
  ];
  for (const [name, desired, observed, want] of cases) {
    it(name, () => assert.equal(isContainedIn(desired, observed), want));
  }
});

describe('computeDrift', () => {
  const desired = withDesiredHash({ kind: 'Service', metadata: { name: 's', labels: { a: 'b' } }, spec: { x: 1 } });
  it('missing / none / specChanged / editedByHand', () => {
    assert.equal(computeDrift(desired, undefined), 'missing');
    assert.equal(computeDrift(desired, structuredClone(desired)), 'none');
    const edited = { ...structuredClone(desired), spec: { x: 2 } };
    assert.equal(computeDrift(desired, edited), 'editedByHand');
    const old = { ...edited, metadata: { ...edited.metadata, annotations: { [DESIRED_HASH_ANNOTATION]: 'old' } } };
    assert.equal(computeDrift(desired, old), 'specChanged');
  });
});

describe('computeDeploymentHealth', () => {
  const desired = {
    metadata: { name: 'd' },
    spec: { template: { spec: { containers: [{ name: 'c', image: 'i:1' }] } } },
  };
  const observed = (status: object, generation = 1, image = 'i:1') => ({
    metadata: { name: 'd', generation },
    spec: { replicas: 2, template: { spec: { containers: [{ name: 'c', image }] } } },
    status,
  });
  const full = { observedGeneration: 1, replicas: 2, updatedReplicas: 2, availableReplicas: 2 };
  const cases: [string, object | undefined, string, string][] = [
    ['not created', undefined, 'progressing', 'Creating'],
    ['all available', observed(full), 'available', 'Available'],
    ['new template not applied yet', observed(full, 1, 'i:0'), 'progressing', 'RollingUpdate'],
    ['generation not observed', observed(full, 2), 'progressing', 'RollingUpdate'],
    ['pods not updated', observed({ ...full, updatedReplicas: 1 }), 'progressing', 'RollingUpdate'],
    ['old pods terminating', observed({ ...full, replicas: 3 }), 'progressing', 'RollingUpdate'],
    ['not available', observed({ ...full, availableReplicas: 1 }), 'progressing', 'RollingUpdate'],
    [
      'deadline exceeded',
      observed({ ...full, conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' }] }),
      'failed',
      'ProgressDeadlineExceeded',
    ],
  ];
  for (const [name, seen, state, reason] of cases) {
    it(name, () => {
      const health = computeDeploymentHealth(desired as never, seen as never);
      assert.deepEqual([health.state, health.reason], [state, reason]);
    });
  }
});

describe('keepCreating', () => {
  const rolling = { state: 'progressing', reason: 'RollingUpdate', message: '0 of 2 pods of d available' } as const;
  const withReady = (reason: string, status = 'False') =>
    ({ status: { conditions: [{ type: 'Ready', status, reason, message: '', lastTransitionTime: '' }] } }) as never;
  it('a service not yet Ready since it was created stays Creating through its first rollout', () => {
    assert.equal(keepCreating(rolling, withReady('Creating')).reason, 'Creating');
    assert.equal(keepCreating(rolling, withReady('Creating')).message, rolling.message);
  });
  it('a service that was Ready rolls an update as RollingUpdate', () => {
    assert.equal(keepCreating(rolling, withReady('Available', 'True')).reason, 'RollingUpdate');
    assert.equal(keepCreating(rolling, withReady('RollingUpdate')).reason, 'RollingUpdate');
  });
  it('a failure is named as it is', () => {
    const failed = { state: 'failed', reason: 'ProgressDeadlineExceeded', message: 'stuck' } as const;
    assert.equal(keepCreating(failed, withReady('Creating')).reason, 'ProgressDeadlineExceeded');
  });
});
