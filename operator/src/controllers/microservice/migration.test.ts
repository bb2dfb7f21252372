// The migration gate, pure: planMigration's table, the Job it builds, and the plan around it — a plain
// service and a canary whose new revision gets no pod and no traffic before its migration succeeded.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MicroService } from '../../api/microservice.ts';
import type { RolloutSpec, RolloutStatus } from '../../api/rollout.ts';
import { buildMigrationJob, buildPodTemplate, computeRevision, migrationJobName } from '../../desired/index.ts';
import { microService, withHttpPort, withImage } from '../../desired/testing.ts';
import type { KubeObject } from '../../kube/objects.ts';
import { jobVerdict, planMigration } from '../../release/migration.ts';
import { planIntake } from '../../release/requests.ts';
import { planReleaseWorkload } from '../../release/rollout.ts';
import { type Plan, plan } from './plan.ts';

const withMigration =
  (command = ['migrate', 'up']) =>
  (ms: MicroService) => {
    ms.spec.database = { serverRef: 'pg', migration: { command } };
  };
const databaseReady = {
  field: 'database' as const,
  condition: { type: 'DatabaseReady', status: 'True' as const, reason: 'Provisioned', message: 'ok' },
  status: { serverRef: 'pg', name: 'default_orders', secretName: 'orders-db' },
};
const revisionOf = (ms: MicroService) => computeRevision(buildPodTemplate(ms));
const job = (name: string, condition?: 'Complete' | 'Failed'): KubeObject => ({
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { name },
  status: condition
    ? {
        conditions: [{ type: condition, status: 'True', reason: condition === 'Failed' ? 'BackoffLimitExceeded' : '' }],
      }
    : {},
});

describe('planMigration', () => {
  const ms = microService('orders', withHttpPort(), withMigration());
  const revision = revisionOf(ms);
  const name = migrationJobName('orders', revision);
  const base = { ms, revision, template: buildPodTemplate(ms), children: [], databaseReady: true };
  const cases: [string, Partial<Parameters<typeof planMigration>[0]>, string][] = [
    ['no migration', { ms: microService('orders') }, 'open'],
    ['already migrated', { ms: { ...ms, status: { database: { migratedRevision: revision } } } }, 'open'],
    ['the database is not ready', { databaseReady: false }, 'hold Migrating, no Job'],
    ['no Job yet', {}, 'hold Migrating, Job'],
    ['the Job runs', { children: [job(name)] }, 'hold Migrating, keep'],
    ['the Job succeeded', { children: [job(name, 'Complete')] }, 'open, keep, migrated'],
    ['the Job failed', { children: [job(name, 'Failed')] }, 'hold MigrationFailed, keep'],
    [
      'the Job failed, retry asked',
      { children: [job(name, 'Failed')], retryRequested: true },
      'hold Migrating, retried',
    ],
  ];
  for (const [what, change, expected] of cases) {
    it(`${what}: ${expected}`, () => {
      const planned = planMigration({ ...base, ...change });
      const said = [
        planned.hold ? `hold ${planned.hold.reason}` : 'open',
        ...(planned.job ? ['Job'] : planned.hold && !planned.keep.length && !planned.hold.retried ? ['no Job'] : []),
        ...(planned.keep.length > 0 ? ['keep'] : []),
        ...(planned.migrated === revision ? ['migrated'] : []),
        ...(planned.hold?.retried ? ['retried'] : []),
      ].join(', ');
      assert.equal(said, expected);
    });
  }

  it('reads a Job’s verdict from its conditions', () => {
    assert.equal(jobVerdict(job('x')).verdict, 'running');
    assert.equal(jobVerdict(job('x', 'Complete')).verdict, 'succeeded');
    assert.deepEqual(jobVerdict(job('x', 'Failed')), { verdict: 'failed', message: 'BackoffLimitExceeded' });
  });
});

describe('buildMigrationJob', () => {
  it('runs the command in the revision’s image with DATABASE_URL, once, on pods no Service selects', () => {
    const ms = microService('orders', withHttpPort(), withImage('shop/orders:2'), (m) => {
      m.spec.env = [{ name: 'LOG', value: 'debug' }];
      m.spec.database = {
        serverRef: 'pg',
        migration: { command: ['migrate'], args: ['up'], env: [{ name: 'LOG', value: 'info' }], timeoutSeconds: 60 },
      };
    });
    const template = buildPodTemplate(ms);
    const built = buildMigrationJob(ms, 'abc123', template);
    assert.ok(built?.spec);
    assert.equal(built.metadata?.name, 'orders-migrate-abc123');
    assert.deepEqual(
      [built.spec.backoffLimit, built.spec.activeDeadlineSeconds, built.spec.ttlSecondsAfterFinished],
      [0, 60, 86_400],
    );
    const pod = built.spec.template;
    assert.equal(pod.spec?.restartPolicy, 'Never');
    assert.equal(pod.metadata?.labels?.['app.kubernetes.io/name'], undefined, 'not selected by the Service');
    const [container, ...others] = pod.spec?.containers ?? [];
    assert.equal(others.length, 0);
    assert.deepEqual([container?.image, container?.command, container?.args], ['shop/orders:2', ['migrate'], ['up']]);
    assert.equal(container?.ports, undefined);
    assert.equal(container?.readinessProbe, undefined);
    assert.deepEqual(
      container?.env?.map((e) => `${e.name}=${e.value ?? e.valueFrom?.secretKeyRef?.name}`),
      ['DATABASE_URL=orders-db', 'LOG=info'],
    );
    assert.equal(container?.securityContext?.allowPrivilegeEscalation, false);
    assert.equal(buildMigrationJob(microService('plain'), 'abc123', template), undefined);
  });

  it('keeps the Job name within 63 characters, distinct for distinct long names', () => {
    const long = 'a'.repeat(60);
    const one = migrationJobName(long, '0123456789');
    const two = migrationJobName(`${'a'.repeat(59)}b`, '0123456789');
    assert.ok(one.length <= 63 && two.length <= 63, `${one} ${two}`);
    assert.notEqual(one, two);
    assert.ok(one.endsWith('-migrate-0123456789'));
  });
});

interface World {
  ms: MicroService;
  rollout?: KubeObject;
  children: Map<string, KubeObject>;
}

/** One reconcile of the pure plan; Deployments come up Ready at once, Jobs stay running until told. */
function reconcile(w: World): Plan {
  if (w.rollout) {
    const spec = w.rollout.spec as RolloutSpec;
    const status = (w.rollout.status ?? {}) as RolloutStatus;
    const { accept, clear } = planIntake(spec, status.acceptedRequest);
    const cleared = { ...(spec as Record<string, unknown>) };
    for (const field of clear) delete cleared[field];
    w.rollout = { ...w.rollout, spec: cleared, status: accept ? { ...status, acceptedRequest: accept } : status };
  }
  const planned = plan({
    ms: w.ms,
    children: [...w.children.values()],
    foreignRoutes: [],
    deletedByOthers: new Set(),
    rollout: w.rollout,
    dependents: [],
    installed: { istio: true, gatewayAPI: false },
    now: '2026-01-01T00:00:00Z',
    nowMs: Date.parse('2026-01-01T00:00:00Z'),
    provisioned: [databaseReady],
    workloads: planReleaseWorkload,
  });
  for (const { object } of planned.apply) {
    const copy = structuredClone(object);
    if (copy.kind === 'Deployment') {
      const replicas = (copy.spec as { replicas?: number }).replicas ?? 1;
      copy.status = { replicas, readyReplicas: replicas, updatedReplicas: replicas, availableReplicas: replicas };
    }
    w.children.set(`${copy.kind}/${copy.metadata.name}`, copy);
  }
  for (const gone of planned.delete) w.children.delete(`${gone.kind}/${gone.metadata.name}`);
  w.ms = { ...w.ms, status: planned.status };
  if (w.rollout && planned.release) w.rollout = { ...w.rollout, status: planned.release.status };
  return planned;
}

const rolloutStatus = (w: World) => (w.rollout?.status ?? {}) as RolloutStatus;
const kinds = (w: World, kind: string) =>
  [...w.children.values()].filter((c) => c.kind === kind).map((c) => c.metadata.name ?? '');
const finishJobs = (w: World, condition: 'Complete' | 'Failed') => {
  for (const [id, child] of w.children) {
    if (child.kind === 'Job' && !(child.status as { conditions?: unknown[] } | undefined)?.conditions?.length) {
      w.children.set(id, { ...child, status: job('', condition).status });
    }
  }
};
const condition = (p: Plan, type: string) => (p.status.conditions ?? []).find((c) => c.type === type);

describe('the plan behind the migration gate', () => {
  it('a new plain service migrates before its first pod: the Deployment comes once the Job succeeded', () => {
    const w: World = { ms: microService('orders', withHttpPort(), withMigration()), children: new Map() };
    const revision = revisionOf(w.ms);
    const first = reconcile(w);
    assert.deepEqual(kinds(w, 'Job'), [migrationJobName('orders', revision)]);
    assert.deepEqual(kinds(w, 'Deployment'), [], 'no pod before the migration');
    assert.equal(condition(first, 'Progressing')?.reason, 'Migrating');
    assert.ok(first.events.some((e) => e.reason === 'MigrationStarted'));
    reconcile(w);
    assert.deepEqual(kinds(w, 'Deployment'), [], 'still running');
    finishJobs(w, 'Complete');
    const done = reconcile(w);
    assert.deepEqual(kinds(w, 'Deployment'), ['orders']);
    assert.equal(done.status.database?.migratedRevision, revision);
    assert.ok(done.events.some((e) => e.reason === 'MigrationSucceeded'));
    reconcile(w);
    assert.deepEqual(kinds(w, 'Job'), [], 'the Job goes once its success is recorded');
    assert.equal(w.ms.status?.database?.migratedRevision, revision);
  });

  it('a plain service’s failed migration leaves the running Deployment as it is, Degraded, one Warning', () => {
    const w: World = { ms: microService('orders', withHttpPort(), withMigration()), children: new Map() };
    reconcile(w);
    finishJobs(w, 'Complete');
    reconcile(w);
    const running = structuredClone(w.children.get('Deployment/orders'));
    w.ms = { ...microService('orders', withHttpPort(), withImage('orders:2'), withMigration()), status: w.ms.status };
    reconcile(w);
    finishJobs(w, 'Failed');
    const failed = reconcile(w);
    assert.deepEqual(w.children.get('Deployment/orders'), running, 'the old template keeps running');
    assert.equal(condition(failed, 'Degraded')?.reason, 'MigrationFailed');
    assert.match(condition(failed, 'Degraded')?.message ?? '', /Job orders-migrate-\w+: BackoffLimitExceeded/);
    assert.equal(condition(failed, 'Ready')?.status, 'True', 'the old revision still serves');
    assert.deepEqual(
      failed.events.filter((e) => e.type === 'Warning').map((e) => e.reason),
      ['MigrationFailed'],
    );
    const again = reconcile(w);
    assert.equal(again.events.filter((e) => e.reason === 'MigrationFailed').length, 0, 'said once');
  });

  it('a canary: no canary pod and no traffic before the migration; a failure, then retry, then the release', () => {
    const ms = microService('orders', withHttpPort(), withMigration());
    const w: World = {
      ms,
      rollout: {
        apiVersion: 'flotilla.dev/v1alpha1',
        kind: 'Rollout',
        metadata: { name: 'orders', namespace: 'default', generation: 1 },
        spec: { serviceRef: { name: 'orders' }, strategy: { canary: { steps: [{ setWeight: 20 }, { pause: {} }] } } },
        status: {},
      },
      children: new Map(),
    };
    reconcile(w);
    finishJobs(w, 'Complete');
    reconcile(w);
    reconcile(w);
    const stable = rolloutStatus(w).stableRevision;
    assert.ok(stable);
    w.ms = { ...microService('orders', withHttpPort(), withImage('orders:2'), withMigration()), status: w.ms.status };
    const next = revisionOf(w.ms);
    const held = reconcile(w);
    assert.deepEqual(
      kinds(w, 'Deployment'),
      kinds(w, 'Deployment').filter((n) => !n.includes(next)),
    );
    assert.equal(rolloutStatus(w).phase, 'Progressing');
    assert.match(rolloutStatus(w).message ?? '', /migrating schema for revision/);
    assert.equal(held.status.conditions?.find((c) => c.type === 'Ready')?.status, 'True');
    finishJobs(w, 'Failed');
    reconcile(w);
    assert.equal(rolloutStatus(w).phase, 'Degraded');
    assert.ok(!kinds(w, 'Deployment').some((n) => n.includes(next)), 'the new revision never got a pod');
    w.rollout = { ...(w.rollout as KubeObject), spec: { ...(w.rollout?.spec as object), retry: true } };
    reconcile(w);
    assert.deepEqual(kinds(w, 'Job'), [], 'the failed Job is deleted');
    assert.equal(rolloutStatus(w).lastAction?.action, 'Retry');
    reconcile(w);
    assert.deepEqual(kinds(w, 'Job'), [migrationJobName('orders', next)], 'and runs again');
    finishJobs(w, 'Complete');
    reconcile(w);
    assert.equal(w.ms.status?.database?.migratedRevision, next);
    assert.ok(
      kinds(w, 'Deployment').some((n) => n.includes(next)),
      'the canary starts',
    );
    assert.equal(rolloutStatus(w).canaryRevision, next);
  });
});
