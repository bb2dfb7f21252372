// A hostile tenant on shared servers, through the MicroService reconcile, on the real API server and the real
// PostgreSQL, MariaDB and Redis: every case of the bad-input catalogue's tenancy section (a database, role or
// ACL user made by hand, a namespace the server does not admit, the admin's and the server's own names) is
// refused with its reason and a Warning Event, writes no Secret and leaves the server exactly as it was;
// adoption works where the DatabaseServer allows it; a namespace labelled afterwards is admitted; the
// DatabaseServer's status counts the services it admits and refuses.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import { CACHE_OWNERS_KEY, connectRedis, type RedisAdminConnection } from '../../operator/src/database/index.ts';
import { HAND_MADE_CARD, inspectServer, type ServerInspector } from '../databases/inspect.ts';
import { redisServer } from '../databases/redis.ts';
import { databaseServer } from '../databases/servers.ts';
import { connectToCluster } from '../support/cluster.ts';
import { eventually } from '../support/eventually.ts';
import { ensureNamespace, installCrds } from './api-support.ts';
import { TENANCY_CASES, type TenancyCase } from './bad-input/catalogue.ts';
import {
  buildServerManifests,
  databaseSecret,
  type RunningDatabaseControllers,
  startDatabaseControllers,
} from './database-support.ts';
import {
  conditionOf,
  eventsFor,
  exists,
  freshNamespace,
  getJson,
  kubectlApply,
  releaseFinalizers,
} from './microservice-support.ts';

const cluster = await connectToCluster();
const tenant = freshNamespace('tenancy');
const adopter = `${tenant}-adopt`;
const adminNamespace = `${tenant}-admin`;
const dbPrefix = tenant.replaceAll('-', '_');
const label = `e2e.flotilla.dev/${tenant}`;
const dbaPassword = `dba-${randomBytes(6).toString('hex')}`;

/** Everything one case needs, by its index in TENANCY_CASES. */
function caseNames(index: number, c: TenancyCase) {
  const service = `c${index}`;
  const namespace = c.tenant === 'adopter' ? adopter : c.tenant === 'admin' ? adminNamespace : tenant;
  return {
    server: `${tenant}-c${index}`,
    service,
    namespace,
    /** The database and role (user) name on postgres and mysql; the ACL user on redis. */
    object: c.engine === 'redis' ? `${namespace}.${service}` : `${dbPrefix}_c${index}`,
    secret: `${service}-${c.engine === 'redis' ? 'cache' : 'db'}`,
  };
}

/** The placeholders of a catalogue case's server spec, filled in for this run. */
function fill(spec: Record<string, unknown> | undefined): Record<string, unknown> {
  return JSON.parse(
    JSON.stringify(spec ?? {})
      .replaceAll('<adopter>', adopter)
      .replaceAll('<label>', label),
  );
}

describe('a hostile tenant on shared PostgreSQL, MariaDB and Redis', () => {
  const running: RunningDatabaseControllers[] = [];
  const inspectors = new Map<'postgres' | 'mysql', ServerInspector>();
  let redisAdmin: RedisAdminConnection;
  let redis: Redis;
  const admins: string[] = [];
  /** Per case: what the server held before the MicroService was applied. */
  const held = new Map<number, unknown>();

  async function snapshot(index: number, c: TenancyCase): Promise<unknown> {
    const { object } = caseNames(index, c);
    if (c.engine === 'redis') {
      return {
        user: await redis.call('ACL', 'GETUSER', object),
        mark: await redis.call('HGET', CACHE_OWNERS_KEY, object),
        data: await redis.get(`${object.replace('.', ':')}:card`),
      };
    }
    const inspector = inspectors.get(c.engine);
    if (!inspector) throw new Error(`no inspector for ${c.engine}`);
    return c.handMade
      ? inspector.snapshot(object, object, 'cards')
      : { databases: await inspector.databaseNames(object), roles: await inspector.roleNames(object) };
  }

  before(async () => {
    await installCrds(cluster);
    for (const namespace of [tenant, adopter, adminNamespace]) await ensureNamespace(cluster, namespace);
    for (const engine of ['postgres', 'mysql'] as const) {
      const admin = await databaseServer(engine);
      admins.push(admin.password);
      inspectors.set(engine, await inspectServer(admin));
    }
    redisAdmin = await redisServer();
    admins.push(redisAdmin.password);
    redis = await connectRedis({ ...redisAdmin });

    const manifests: object[] = [];
    for (const [index, c] of TENANCY_CASES.entries()) {
      const names = caseNames(index, c);
      const admin = c.engine === 'redis' ? { ...redisAdmin, username: redisAdmin.username ?? 'default' } : undefined;
      const connection = admin ?? (await databaseServer(c.engine as 'postgres' | 'mysql'));
      manifests.push(...buildServerManifests(c.engine, names.server, adminNamespace, connection, fill(c.serverSpec)));
      if (c.handMade && c.engine === 'redis') {
        await redis.call('ACL', 'SETUSER', names.object, 'on', `>${dbaPassword}`, '~*', '+get', '+set');
        await redis.set(`${names.object.replace('.', ':')}:card`, HAND_MADE_CARD);
      } else if (c.handMade) {
        await inspectors.get(c.engine as 'postgres' | 'mysql')?.makeByHand(names.object, dbaPassword);
      }
      held.set(index, await snapshot(index, c));
    }
    await cluster.kubectl(['apply', '-f', '-'], {
      input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: manifests }),
    });
    running.push(await startDatabaseControllers(cluster, tenant, { reclaimTimeoutMs: 4_000 }));
    running.push(await startDatabaseControllers(cluster, adopter, { withServerController: false }));

    for (const [index, c] of TENANCY_CASES.entries()) {
      const names = caseNames(index, c);
      const databaseName =
        c.databaseName === '<admin>' ? (await databaseServer(c.engine as 'postgres')).username : c.databaseName;
      await kubectlApply(cluster, {
        apiVersion: 'flotilla.dev/v1alpha1',
        kind: 'MicroService',
        metadata: { name: names.service, namespace: names.namespace },
        spec: {
          image: `registry.example.com/${names.service}:1`,
          ...(c.engine === 'redis'
            ? { cache: { serverRef: names.server } }
            : {
                database: {
                  serverRef: names.server,
                  name: databaseName ?? names.object,
                  reclaimPolicy: 'Delete',
                },
              }),
        },
      });
    }
  });

  after(async () => {
    for (const controllers of running) await controllers.stop();
    for (const namespace of [tenant, adopter]) await releaseFinalizers(cluster, namespace);
    for (const [index, c] of TENANCY_CASES.entries()) {
      const { object } = caseNames(index, c);
      if (c.engine === 'redis') {
        await redis?.call('ACL', 'DELUSER', object);
        await redis?.call('HDEL', CACHE_OWNERS_KEY, object);
        await redis?.del(`${object.replace('.', ':')}:card`);
      } else if (!c.databaseName) {
        await inspectors.get(c.engine)?.dropByHand(object);
      }
    }
    for (const inspector of inspectors.values()) await inspector.close();
    redis?.disconnect();
    await cluster.kubectl([
      'delete',
      'namespace',
      tenant,
      adopter,
      adminNamespace,
      '--wait=false',
      '--ignore-not-found',
    ]);
    await cluster.kubectl([
      'delete',
      'databaseserver',
      ...TENANCY_CASES.map((c, index) => caseNames(index, c).server),
      '--ignore-not-found',
    ]);
  });

  for (const [index, c] of TENANCY_CASES.entries()) {
    const names = caseNames(index, c);
    it(`${c.name}: ${c.condition} ${c.status} ${c.reason}`, { timeout: 90_000 }, async () => {
      await eventually(`${names.service} ${c.condition} ${c.reason}`, async () => {
        const condition = await conditionOf(cluster, names.namespace, names.service, c.condition);
        assert.equal(condition?.reason, c.reason, JSON.stringify(condition));
        assert.equal(condition?.status, c.status);
        assert.ok(condition?.message.includes(c.message), condition?.message);
      });
      const secret = ['-n', names.namespace, 'secret', names.secret];
      if (c.status === 'False') {
        const failed = c.engine === 'redis' ? 'CacheFailed' : 'DatabaseFailed';
        await eventually(`a ${failed} Warning`, async () => {
          const events = await eventsFor(cluster, names.namespace, names.service, failed);
          assert.ok(
            events.some((e) => e.type === 'Warning' && e.message.startsWith(`${c.reason}:`)),
            JSON.stringify(events),
          );
        });
        assert.equal(await exists(cluster, secret), false, `no Secret ${names.secret} is written on a refusal`);
        const ms = await getJson<{ metadata: { finalizers?: string[] } }>(cluster, [
          '-n',
          names.namespace,
          'microservice',
          names.service,
        ]);
        assert.deepEqual(ms.metadata.finalizers ?? [], [], 'nothing to reclaim, so no finalizer');
        assert.deepEqual(await snapshot(index, c), held.get(index), 'the server holds exactly what it held');
      } else {
        // Adopted: the hand-made database is the service's now, through its Secret, and an Event says so.
        const events = await eventsFor(cluster, names.namespace, names.service, 'DatabaseAdopted');
        assert.ok(events.some((e) => /existed without Flotilla's mark and were adopted/.test(e.message)));
        const credentials = await databaseSecret(cluster, names.namespace, names.service);
        const session = await inspectors.get(c.engine as 'postgres')?.loginAs({
          database: names.object,
          username: names.object,
          password: credentials.password ?? '',
        });
        try {
          assert.deepEqual(await session?.query('SELECT number FROM cards'), [{ number: HAND_MADE_CARD }]);
        } finally {
          await session?.close();
        }
      }
    });
  }

  it('admits a namespace once it carries the label the server selects, and counts it', {
    timeout: 90_000,
  }, async () => {
    const index = TENANCY_CASES.findIndex(
      (c) => c.engine === 'postgres' && c.reason === 'NamespaceNotAllowed' && c.serverSpec?.allowedNamespaces,
    );
    const c = TENANCY_CASES[index];
    assert.ok(c && (c.serverSpec?.allowedNamespaces as { from?: string } | undefined)?.from === 'Selector');
    const names = caseNames(index, c);
    type Server = { status?: { services?: number; refusedServices?: number } };
    // The cluster is shared: a run of another branch may have applied CRDs without these status fields since.
    await installCrds(cluster);
    await eventually('the refused service counted', async () => {
      const server = await getJson<Server>(cluster, ['databaseserver', names.server]);
      assert.deepEqual([server.status?.services, server.status?.refusedServices], [0, 1]);
    });
    await cluster.kubectl(['label', 'namespace', tenant, `${label}=yes`]);
    await eventually(
      `${names.service} provisioned`,
      async () => {
        const condition = await conditionOf(cluster, names.namespace, names.service, 'DatabaseReady');
        assert.equal(condition?.status, 'True', JSON.stringify(condition));
      },
      { timeoutMs: 60_000 },
    );
    await eventually('the admitted service counted', async () => {
      const server = await getJson<Server>(cluster, ['databaseserver', names.server]);
      assert.deepEqual([server.status?.services, server.status?.refusedServices], [1, 0]);
    });
  });

  it('never puts an admin password in Events, conditions or logs', async () => {
    const texts = [
      await cluster.kubectl(['-n', tenant, 'get', 'events,microservices', '-o', 'json']),
      await cluster.kubectl(['-n', adopter, 'get', 'events,microservices', '-o', 'json']),
      ...running.flatMap((r) => r.logs),
    ].join('\n');
    for (const password of [...admins, dbaPassword]) assert.equal(texts.includes(password), false);
  });
});
