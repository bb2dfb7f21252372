// Migration-aware releases through the operator (`flotilla run` as a process) on the real cluster and
// the real PostgreSQL: a revision's schema migration runs once, as a Job, before that revision gets a
// pod or traffic; a failed one (kwok fails a Job pod whose command is `false`, as a real node does)
// stops the release and says why; the Rollout's retry runs it again; a SIGKILL while the Job runs
// starts no second Job; the Job's DATABASE_URL reaches the service's own database and no other.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { connectToCluster } from '../support/cluster.ts';
import { eventually } from '../support/eventually.ts';
import { ensureNamespace } from './api-support.ts';
import { createTestServer, databaseSecret } from './database-support.ts';
import {
  conditionOf,
  eventsFor,
  freshNamespace,
  getJson,
  kubectlApply,
  microServiceManifest,
  type OperatorProcess,
  releaseFinalizers,
  startOperator,
} from './microservice-support.ts';

const cluster = await connectToCluster();
const namespace = freshNamespace('ms-migrate');
const adminNamespace = `${namespace}-admin`;
const serverName = `${namespace}-pg`;
const IMAGE = 'registry.example.com/shop/ledger';

interface JobJson {
  metadata: { name: string; uid: string; creationTimestamp: string; labels?: Record<string, string> };
  spec: { template: { spec: { containers: { command?: string[]; env?: { name: string; valueFrom?: unknown }[] }[] } } };
  status?: { completionTime?: string; conditions?: { type: string; status: string }[] };
}
interface MicroServiceJson {
  status?: { database?: { migratedRevision?: string; name?: string } };
}
interface RolloutJson {
  status?: {
    phase?: string;
    message?: string;
    canaryRevision?: string;
    stableRevision?: string;
    lastAction?: { action: string };
  };
}

const kubectl = (...args: string[]) => cluster.kubectl(['-n', namespace, ...args]);
const jobs = async (service: string) =>
  (
    await getJson<{ items: JobJson[] }>(cluster, [
      '-n',
      namespace,
      'jobs',
      '-l',
      `flotilla.dev/migration-of=${service}`,
    ])
  ).items;
const migratedRevision = async (service: string) =>
  (await getJson<MicroServiceJson>(cluster, ['-n', namespace, 'microservice', service])).status?.database
    ?.migratedRevision;
const deploymentsOf = async (service: string) =>
  (
    await getJson<{
      items: {
        metadata: { name: string; labels: Record<string, string>; creationTimestamp: string };
        spec: { template: { spec: { containers: { image: string }[] } } };
      }[];
    }>(cluster, ['-n', namespace, 'deployments', '-l', `app.kubernetes.io/name=${service}`])
  ).items;
const patchService = (service: string, spec: object) =>
  kubectl('patch', 'microservice', service, '--type', 'merge', '-p', JSON.stringify({ spec }));
const rolloutOf = (name: string) => getJson<RolloutJson>(cluster, ['-n', namespace, 'rollout.flotilla.dev', name]);

function service(name: string, tag: string, command: string[]) {
  return microServiceManifest(namespace, name, {
    image: `${IMAGE}:${tag}`,
    ports: [{ name: 'http', port: 80, targetPort: 8080 }],
    database: { serverRef: serverName, reclaimPolicy: 'Delete', migration: { command } },
  });
}

describe('migration-aware releases through the operator', () => {
  let operator: OperatorProcess;

  before(async () => {
    await ensureNamespace(cluster, namespace);
    await createTestServer(cluster, 'postgres', serverName, adminNamespace);
    operator = await startOperator(cluster, namespace);
  });

  after(async () => {
    await kubectl('delete', 'microservices', '--all', '--wait=true', '--timeout=60s').catch(() => '');
    operator?.child.kill('SIGTERM');
    await operator?.exited;
    await releaseFinalizers(cluster, namespace);
    await cluster.kubectl(['delete', 'namespace', namespace, adminNamespace, '--wait=false', '--ignore-not-found']);
    await cluster.kubectl(['delete', 'databaseserver', serverName, '--ignore-not-found']);
  });

  it('a new service migrates before its first pod starts; its Job’s DATABASE_URL reaches its own database only', {
    timeout: 120_000,
  }, async () => {
    await kubectlApply(cluster, service('ledger', '1', ['migrate', 'up']));
    await kubectlApply(cluster, service('audit', '1', ['migrate', 'up']));
    let revision: string | undefined;
    await eventually('ledger migrated', async () => {
      revision = await migratedRevision('ledger');
      assert.ok(revision);
    });
    const [job] = await jobs('ledger').catch(() => []);
    const [deployment] = await deploymentsOf('ledger');
    assert.ok(deployment, 'the Deployment exists once migrated');
    assert.equal(deployment.metadata.labels['flotilla.dev/revision'], revision);
    if (job) {
      // The Job is deleted once its success is recorded; while it is still there, it finished first.
      assert.ok(job.status?.completionTime && job.status.completionTime <= deployment.metadata.creationTimestamp);
      const env = job.spec.template.spec.containers[0]?.env ?? [];
      assert.deepEqual(env.find((e) => e.name === 'DATABASE_URL')?.valueFrom, {
        secretKeyRef: { name: 'ledger-db', key: 'DATABASE_URL' },
      });
    }
    const started = await eventsFor(cluster, namespace, 'ledger', 'MigrationStarted');
    assert.equal(started.length, 1);
    await eventually('audit migrated', async () => assert.ok(await migratedRevision('audit')));

    // What the migration command does with its DATABASE_URL, done from here with the Secret's URL.
    const ledgerUrl = (await databaseSecret(cluster, namespace, 'ledger')).DATABASE_URL ?? '';
    const auditDatabase = (await databaseSecret(cluster, namespace, 'audit')).database ?? '';
    const client = new pg.Client({ connectionString: ledgerUrl });
    await client.connect();
    try {
      await client.query('CREATE TABLE entries (id serial PRIMARY KEY, amount integer)');
      const owner = await client.query('SELECT current_database() AS db, current_user AS role');
      assert.equal(owner.rows[0]?.db, (await databaseSecret(cluster, namespace, 'ledger')).database);
    } finally {
      await client.end();
    }
    const elsewhere = new URL(ledgerUrl);
    elsewhere.pathname = `/${auditDatabase}`;
    const intruder = new pg.Client({ connectionString: elsewhere.toString() });
    await assert.rejects(
      (async () => {
        await intruder.connect();
        await intruder.query('SELECT 1');
      })(),
      /permission denied|not permitted|no pg_hba/i,
      'ledger’s credentials do not open audit’s database',
    );
    await intruder.end().catch(() => {});
  });

  it('a plain service whose migration fails keeps running its old version, Degraded with the Job named', {
    timeout: 90_000,
  }, async () => {
    const before = await deploymentsOf('ledger');
    await patchService('ledger', { image: `${IMAGE}:2`, database: { migration: { command: ['false'] } } });
    await eventually('MigrationFailed', async () => {
      const degraded = await conditionOf(cluster, namespace, 'ledger', 'Degraded');
      assert.equal(degraded?.reason, 'MigrationFailed', JSON.stringify(degraded));
      assert.match(degraded?.message ?? '', /Job ledger-migrate-\w+/);
    });
    const warnings = await eventsFor(cluster, namespace, 'ledger', 'MigrationFailed');
    assert.equal(warnings[0]?.type, 'Warning');
    const now = await deploymentsOf('ledger');
    assert.deepEqual(
      now.map((d) => d.spec.template.spec.containers[0]?.image),
      before.map((d) => d.spec.template.spec.containers[0]?.image),
    );
    assert.equal(now[0]?.spec.template.spec.containers[0]?.image, `${IMAGE}:1`, 'the old version keeps running');
  });

  it('a canary whose migration fails never gets a pod; retry runs it again and the release goes on', {
    timeout: 150_000,
  }, async () => {
    await kubectlApply(cluster, service('orders', '1', ['migrate', 'up']));
    await kubectlApply(cluster, {
      apiVersion: 'flotilla.dev/v1alpha1',
      kind: 'Rollout',
      metadata: { name: 'orders', namespace },
      spec: {
        serviceRef: { name: 'orders' },
        strategy: { canary: { steps: [{ setWeight: 50 }, { pause: {} }], trafficRouting: 'replicas' } },
      },
    });
    await eventually('orders stable', async () => assert.ok((await rolloutOf('orders')).status?.stableRevision));
    const stable = (await rolloutOf('orders')).status?.stableRevision;

    await patchService('orders', { image: `${IMAGE}:2`, database: { migration: { command: ['false'] } } });
    await eventually('the release stops: MigrationFailed', async () => {
      const status = (await rolloutOf('orders')).status;
      assert.equal(status?.phase, 'Degraded', JSON.stringify(status));
      assert.match(status?.message ?? '', /schema migration for revision \w+ failed \(Job orders-migrate-\w+/);
    });
    const failed = await jobs('orders');
    const failedJob = failed.find((j) => j.status?.conditions?.some((c) => c.type === 'Failed' && c.status === 'True'));
    assert.ok(failedJob, JSON.stringify(failed.map((j) => j.status)));
    const next = failedJob.metadata.labels?.['flotilla.dev/revision'];
    assert.ok(next && next !== stable);
    assert.deepEqual(
      (await deploymentsOf('orders')).filter((d) => d.metadata.labels['flotilla.dev/revision'] === next),
      [],
      'the new revision never got a Deployment',
    );

    // Fixed (the same revision: the command is not part of the pod template), then retried.
    await patchService('orders', { database: { migration: { command: ['migrate', 'up'] } } });
    await kubectl('patch', 'rollout.flotilla.dev', 'orders', '--type', 'merge', '-p', '{"spec":{"retry":true}}');
    await eventually('migrated and the canary started', async () => {
      assert.equal(await migratedRevision('orders'), next);
      const status = (await rolloutOf('orders')).status;
      assert.equal(status?.canaryRevision, next, JSON.stringify(status));
      assert.ok((await deploymentsOf('orders')).some((d) => d.metadata.labels['flotilla.dev/revision'] === next));
    });
    assert.ok((await eventsFor(cluster, namespace, 'orders', 'MigrationRetried')).length >= 1);
  });

  it('a SIGKILL of the operator while the Job runs starts no second Job', { timeout: 120_000 }, async () => {
    await patchService('ledger', { image: `${IMAGE}:3`, database: { migration: { command: ['migrate', 'up'] } } });
    let first: JobJson | undefined;
    await eventually('the Job of revision 3', async () => {
      first = (await jobs('ledger')).find((j) => j.spec.template.spec.containers[0]?.command?.[0] === 'migrate');
      assert.ok(first);
    });
    const before = operator.lines;
    operator.child.kill('SIGKILL');
    await operator.exited;
    operator = await startOperator(cluster, namespace);
    await eventually('revision 3 migrated', async () => {
      assert.equal(await migratedRevision('ledger'), first?.metadata.labels?.['flotilla.dev/revision']);
    });
    // Events of one reason form one series (its count counts every revision): the logs say what was created.
    const creates = [...before, ...operator.lines].filter(
      (line) => line.child === `Job/${first?.metadata.name}` && line.why === 'create',
    );
    assert.equal(creates.length, 1, 'one Job created for the revision, by either process');
    for (const job of await jobs('ledger')) {
      if (job.metadata.name === first?.metadata.name) assert.equal(job.metadata.uid, first.metadata.uid);
    }
    const [deployment] = await deploymentsOf('ledger');
    assert.equal(deployment?.spec.template.spec.containers[0]?.image, `${IMAGE}:3`);
  });
});
