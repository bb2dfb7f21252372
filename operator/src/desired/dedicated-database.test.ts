import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DatabaseSpec } from '../api/microservice.ts';
import { validateMicroService } from '../api/validate.ts';
import {
  buildDedicatedDatabase,
  buildDedicatedNetworkPolicy,
  buildDedicatedService,
  buildDedicatedStatefulSet,
  DEDICATED_IMAGES,
  dedicatedDatabaseAddress,
  dedicatedDatabaseCondition,
  dedicatedDatabaseOf,
} from './dedicated-database.ts';
import { childLabels, ownerReferenceTo, selectorLabels } from './meta.ts';
import { type Modifier, microService, validChild, withDatabase, withHttpPort } from './testing.ts';

const dedicated =
  (database: Partial<DatabaseSpec> = {}): Modifier =>
  (ms) => {
    ms.spec.database = { instance: 'dedicated', engine: 'postgres', ...database };
  };

const orders = (...modifiers: Modifier[]) => microService('orders', withHttpPort(), ...modifiers);

/** Whether every label of `selector` is among `labels`: the selector would pick those pods. */
const selects = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.entries(selector).every(([key, value]) => labels[key] === value);

describe('dedicated database', () => {
  it('builds nothing for a service without a database or with a shared one', () => {
    for (const ms of [orders(), orders(withDatabase())]) {
      assert.equal(dedicatedDatabaseOf(ms), undefined);
      assert.deepEqual(buildDedicatedDatabase(ms), []);
      assert.equal(dedicatedDatabaseAddress(ms), undefined);
    }
  });

  it('builds a postgres StatefulSet: official image, one pod, a volume, credentials from <name>-db', () => {
    const ms = orders(dedicated());
    const set = validChild(buildDedicatedStatefulSet(ms));
    assert.deepEqual(set.metadata, {
      name: 'orders-db',
      namespace: 'shop',
      labels: { ...childLabels('orders'), 'app.kubernetes.io/component': 'database' },
      ownerReferences: [ownerReferenceTo(ms)],
    });
    const spec = set.spec;
    assert.ok(spec);
    assert.equal(spec.serviceName, 'orders-db');
    assert.equal(spec.replicas, 1);
    assert.deepEqual(spec.selector.matchLabels, {
      'app.kubernetes.io/instance': 'orders-db',
      'app.kubernetes.io/component': 'database',
    });
    assert.deepEqual(spec.template.metadata?.labels, {
      'app.kubernetes.io/name': 'postgresql',
      'app.kubernetes.io/instance': 'orders-db',
      'app.kubernetes.io/component': 'database',
      'app.kubernetes.io/part-of': 'orders',
      'app.kubernetes.io/managed-by': 'flotilla',
    });
    const pod = spec.template.spec;
    assert.ok(pod);
    assert.equal(pod.automountServiceAccountToken, false);
    assert.deepEqual(pod.securityContext, {
      runAsNonRoot: true,
      runAsUser: 999,
      runAsGroup: 999,
      fsGroup: 999,
      fsGroupChangePolicy: 'OnRootMismatch',
      seccompProfile: { type: 'RuntimeDefault' },
    });
    const [container] = pod.containers;
    assert.ok(container);
    assert.equal(container.image, 'postgres:17.6');
    assert.deepEqual(container.ports, [{ name: 'postgres', containerPort: 5432, protocol: 'TCP' }]);
    assert.deepEqual(container.env, [
      { name: 'POSTGRES_USER', valueFrom: { secretKeyRef: { name: 'orders-db', key: 'username' } } },
      { name: 'POSTGRES_PASSWORD', valueFrom: { secretKeyRef: { name: 'orders-db', key: 'password' } } },
      { name: 'POSTGRES_DB', valueFrom: { secretKeyRef: { name: 'orders-db', key: 'database' } } },
      { name: 'PGDATA', value: '/var/lib/postgresql/data/pgdata' },
    ]);
    assert.deepEqual(container.readinessProbe?.exec?.command, [
      'sh',
      '-c',
      'exec pg_isready -h 127.0.0.1 -p 5432 -U "$POSTGRES_USER" -d "$POSTGRES_DB"',
    ]);
    assert.deepEqual(container.securityContext, {
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      readOnlyRootFilesystem: false,
    });
    assert.deepEqual(container.volumeMounts, [{ name: 'data', mountPath: '/var/lib/postgresql/data' }]);
    assert.deepEqual(spec.volumeClaimTemplates?.[0]?.spec, {
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: '1Gi' } },
    });
    assert.deepEqual(spec.persistentVolumeClaimRetentionPolicy, { whenDeleted: 'Retain', whenScaled: 'Retain' });
  });

  it('builds a MariaDB StatefulSet for engine mysql, with a random root password nobody sees', () => {
    const set = validChild(buildDedicatedStatefulSet(orders(dedicated({ engine: 'mysql' }))));
    const container = set.spec?.template.spec?.containers[0];
    assert.ok(container);
    assert.equal(container.name, 'mariadb');
    assert.equal(container.image, DEDICATED_IMAGES.mysql);
    assert.match(container.image ?? '', /^mariadb:11\.\d+\.\d+$/);
    assert.deepEqual(container.ports, [{ name: 'mariadb', containerPort: 3306, protocol: 'TCP' }]);
    assert.deepEqual(
      container.env?.map((e) => [e.name, e.valueFrom?.secretKeyRef?.key ?? e.value]),
      [
        ['MARIADB_USER', 'username'],
        ['MARIADB_PASSWORD', 'password'],
        ['MARIADB_DATABASE', 'database'],
        ['MARIADB_RANDOM_ROOT_PASSWORD', '1'],
        ['MARIADB_AUTO_UPGRADE', '1'],
      ],
    );
    assert.deepEqual(container.readinessProbe?.exec?.command, ['healthcheck.sh', '--connect', '--innodb_initialized']);
    assert.deepEqual(container.volumeMounts, [{ name: 'data', mountPath: '/var/lib/mysql' }]);
    assert.equal(set.spec?.template.metadata?.labels?.['app.kubernetes.io/name'], 'mariadb');
  });

  const table: { name: string; database: Partial<DatabaseSpec>; storage: string; whenDeleted: string }[] = [
    { name: 'the default storage and Retain', database: {}, storage: '1Gi', whenDeleted: 'Retain' },
    { name: 'storage 20Gi', database: { storage: '20Gi' }, storage: '20Gi', whenDeleted: 'Retain' },
    {
      name: 'reclaimPolicy Delete: the claim goes with the service',
      database: { storage: '500Mi', reclaimPolicy: 'Delete' },
      storage: '500Mi',
      whenDeleted: 'Delete',
    },
  ];
  for (const c of table) {
    it(`sizes and keeps the volume as asked: ${c.name}`, () => {
      const set = validChild(buildDedicatedStatefulSet(orders(dedicated(c.database))));
      assert.equal(set.spec?.volumeClaimTemplates?.[0]?.spec?.resources?.requests?.storage, c.storage);
      assert.equal(set.spec?.persistentVolumeClaimRetentionPolicy?.whenDeleted, c.whenDeleted);
    });
  }

  it('puts a headless Service <name>-db in front of it, the host of DATABASE_URL', () => {
    const ms = orders(dedicated());
    const service = validChild(buildDedicatedService(ms));
    assert.equal(service.metadata?.name, 'orders-db');
    assert.deepEqual(service.spec, {
      clusterIP: 'None',
      selector: { 'app.kubernetes.io/instance': 'orders-db', 'app.kubernetes.io/component': 'database' },
      ports: [{ name: 'postgres', port: 5432, targetPort: 'postgres', protocol: 'TCP' }],
    });
    assert.deepEqual(dedicatedDatabaseAddress(ms), { engine: 'postgres', host: 'orders-db.shop.svc', port: 5432 });
    assert.deepEqual(dedicatedDatabaseAddress(orders(dedicated({ engine: 'mysql' })), 'cluster.local'), {
      engine: 'mysql',
      host: 'orders-db.shop.svc.cluster.local',
      port: 3306,
    });
  });

  it('lets only the service’s own pods reach the database', () => {
    const policy = validChild(buildDedicatedNetworkPolicy(orders(dedicated())));
    assert.deepEqual(policy.spec, {
      podSelector: {
        matchLabels: { 'app.kubernetes.io/instance': 'orders-db', 'app.kubernetes.io/component': 'database' },
      },
      policyTypes: ['Ingress'],
      ingress: [
        {
          from: [{ podSelector: { matchLabels: selectorLabels('orders') } }],
          ports: [{ protocol: 'TCP', port: 'postgres' }],
        },
      ],
    });
  });

  it('keeps the database’s pod out of the service’s selectors, and the service’s pods out of the database’s', () => {
    for (const name of ['orders', 'orders-db', 'db']) {
      const set = buildDedicatedStatefulSet(microService(name, dedicated()));
      const databasePod = set?.spec?.template.metadata?.labels ?? {};
      assert.equal(selects(selectorLabels(name), databasePod), false, `${name}: the service selects its database`);
      assert.equal(selects(set?.spec?.selector.matchLabels ?? {}, childLabels(name)), false);
      // Nor the pods of a service named <name>-db.
      assert.equal(selects(selectorLabels(`${name}-db`), databasePod), false);
    }
  });

  it('fits Kubernetes’ limits for the longest name the API allows with a dedicated database', () => {
    const name = `a${'b'.repeat(48)}`;
    const ms = microService(name, dedicated());
    assert.equal(validateMicroService(ms).valid, true, 'the API accepts the name');
    assert.equal(validateMicroService(microService(`${name}c`, dedicated())).valid, false, 'and not one longer');
    for (const child of buildDedicatedDatabase(ms)) validChild(child);
    const set = buildDedicatedStatefulSet(ms);
    // The StatefulSet controller labels pods <name>-<10-character hash>: 63 characters at most.
    assert.ok((set?.metadata?.name ?? '').length + 11 <= 63);
    for (const value of Object.values(set?.spec?.template.metadata?.labels ?? {})) assert.ok(value.length <= 63);
  });

  it('holds no credentials: every secret value comes from the Secret by reference', () => {
    const text = JSON.stringify(buildDedicatedDatabase(orders(dedicated({ engine: 'mysql' }))));
    for (const env of ['PASSWORD', 'USER"', 'DATABASE"']) {
      const values = [...text.matchAll(new RegExp(`"name":"[A-Z_]*${env},"value":`, 'g'))];
      assert.deepEqual(values, [], `${env} is set as a literal`);
    }
    assert.doesNotMatch(text, /"value":"(?!1"|\/)/, 'the only literal values are flags and paths');
  });

  it('applies the Service before the StatefulSet that names it', () => {
    assert.deepEqual(
      buildDedicatedDatabase(orders(dedicated())).map((child) => child.kind),
      ['Service', 'NetworkPolicy', 'StatefulSet'],
    );
  });

  it('is DatabaseReady once its StatefulSet has a ready pod', () => {
    const ms = orders(dedicated());
    assert.deepEqual(dedicatedDatabaseCondition(ms, undefined), {
      status: 'False',
      reason: 'InstanceStarting',
      message: 'StatefulSet orders-db (postgres:17.6) is not created yet',
    });
    assert.equal(dedicatedDatabaseCondition(ms, { status: { readyReplicas: 0 } }).reason, 'InstanceStarting');
    assert.deepEqual(dedicatedDatabaseCondition(ms, { status: { readyReplicas: 1 } }), {
      status: 'True',
      reason: 'Provisioned',
      message:
        'StatefulSet orders-db (postgres:17.6) is ready at orders-db.shop.svc:5432; credentials in Secret orders-db',
    });
    assert.throws(() => dedicatedDatabaseCondition(orders(withDatabase()), undefined), /not a dedicated database/);
  });
});
