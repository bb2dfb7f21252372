// The database provisioners with an in-memory API and a scripted engine (a fast extra layer; the behaviour
// against the real API server and databases is in e2e/integration/microservice-database*.test.ts):
// a Secret written by someone else between the cache miss and the create is used, never replaced;
// a server failure's message has no password; deletion retries until the deadline measured from
// deletionTimestamp, then gives up naming what is left behind.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import type { MicroService } from '../api/microservice.ts';
import { FakeClock } from '../common/fake-clock.ts';
import {
  type DatabaseEngine,
  type DatabaseRequest,
  EngineRegistry,
  OwnershipConflictError,
} from '../database/index.ts';
import { microService } from '../desired/testing.ts';
import type { KubeClient } from '../kube/client.ts';
import { KubeApiError } from '../kube/errors.ts';
import type { EventRecord } from '../kube/events.ts';
import type { KubeObject, ResourceType } from '../kube/objects.ts';
import { ObjectCache } from '../runtime/object-cache.ts';
import { DATABASE_FINALIZER } from './database-condition.ts';
import { DedicatedDatabaseProvisioner } from './dedicated-database.ts';
import { SharedDatabaseProvisioner } from './shared-database.ts';

const log = pino({ level: 'silent' });
const b64 = (text: string) => Buffer.from(text).toString('base64');

/** Objects by `kind/namespace/name`; create fails with 409 when present; every write is recorded. */
class FakeApi {
  readonly objects = new Map<string, KubeObject>();
  readonly writes: string[] = [];
  /** Runs once before the next create: someone else writes first. */
  beforeCreate: (() => void) | undefined;
  #version = 1;

  put(kind: string, object: KubeObject): KubeObject {
    const stored = { ...object, metadata: { ...object.metadata, resourceVersion: String(this.#version++) } };
    this.objects.set(`${kind}/${object.metadata.namespace ?? ''}/${object.metadata.name}`, stored);
    return stored;
  }

  client(): KubeClient {
    const find = (type: ResourceType, name: string, namespace?: string) =>
      this.objects.get(`${type.kind}/${namespace ?? ''}/${name}`);
    const notFound = (path: string) => new KubeApiError('GET', path, 404, { reason: 'NotFound' });
    const fake = {
      get: async (type: ResourceType, name: string, namespace?: string) => {
        const found = find(type, name, namespace);
        if (!found) throw notFound(`${type.kind}/${name}`);
        return found;
      },
      getIfExists: async (type: ResourceType, name: string, namespace?: string) => find(type, name, namespace),
      create: async (type: ResourceType, object: KubeObject) => {
        this.beforeCreate?.();
        this.beforeCreate = undefined;
        this.writes.push(`create ${type.kind}/${object.metadata.name}`);
        if (find(type, object.metadata.name ?? '', object.metadata.namespace)) {
          throw new KubeApiError('POST', type.kind, 409, { reason: 'AlreadyExists' });
        }
        return this.put(type.kind, object);
      },
      apply: async (type: ResourceType, object: KubeObject) => {
        this.writes.push(`apply ${type.kind}/${object.metadata.name}`);
        return this.put(type.kind, object);
      },
      mergePatch: async (type: ResourceType, name: string, namespace: string | undefined, patch: KubeObject) => {
        this.writes.push(`patch ${type.kind}/${name} ${JSON.stringify(patch.metadata?.finalizers)}`);
        const found = find(type, name, namespace);
        if (!found) throw notFound(name);
        return this.put(type.kind, { ...found, metadata: { ...found.metadata, ...patch.metadata } });
      },
    };
    return fake as unknown as KubeClient;
  }
}

/** An engine whose calls are recorded and whose next failures are scripted. */
function scriptedEngine(
  calls: string[],
  failWith: () => unknown,
  claims: string[] = [],
  refuseWith: () => unknown = () => undefined,
): DatabaseEngine {
  return {
    engine: 'postgres',
    checkConnection: async () => ({ ok: true, serverVersion: '17' }),
    ensureDatabase: async (request: DatabaseRequest) => {
      calls.push(`ensure ${request.database} ${request.password}`);
      claims.push(`ensure ${request.owner} adopt=${request.adopt === true}`);
      const error = failWith();
      if (error) throw error;
      return { actions: ['CreateRole', 'CreateDatabase'] };
    },
    checkOwnership: async (target) => {
      claims.push(`check ${target.owner} adopt=${target.adopt === true}`);
      const refusal = refuseWith();
      if (refusal) throw refusal;
    },
    dropDatabase: async (target) => {
      calls.push(`drop ${target.database}`);
      const error = failWith();
      if (error) throw error;
      return { actions: ['DropDatabase', 'DropRole'] };
    },
    close: async () => {},
  };
}

function setUp(
  options: {
    failWith?: () => unknown;
    engine?: string;
    serverSpec?: Record<string, unknown>;
    refuseWith?: () => unknown;
  } = {},
) {
  const api = new FakeApi();
  const clock = new FakeClock(Date.parse('2026-01-01T00:00:00Z'));
  const events: EventRecord[] = [];
  const calls: string[] = [];
  const claims: string[] = [];
  const databaseServers = new ObjectCache();
  const server = {
    metadata: { name: 'pg', uid: 'uid-pg', generation: 1 },
    spec: {
      engine: options.engine ?? 'postgres',
      host: '127.0.0.1',
      port: 5432,
      adminSecretRef: { namespace: 'ops', name: 'pg-admin' },
      ...options.serverSpec,
    },
  };
  databaseServers.upsert(server);
  api.put('Secret', {
    metadata: { name: 'pg-admin', namespace: 'ops' },
    data: { username: b64('admin'), password: b64('admin-secret-password') },
  });
  const microServices = new ObjectCache();
  const secrets = new ObjectCache();
  const shared = new SharedDatabaseProvisioner({
    client: api.client(),
    clock,
    engines: new EngineRegistry(() =>
      scriptedEngine(calls, options.failWith ?? (() => undefined), claims, options.refuseWith),
    ),
    microServices,
    databaseServers,
    secrets,
    reclaimTimeoutMs: 60_000,
  });
  const dedicated = new DedicatedDatabaseProvisioner({ client: api.client(), secrets });
  // The two as the reconcile runs them: the one the spec asks for, its Events collected.
  const step = {
    provision: async (service: MicroService, statefulSet?: KubeObject) => {
      const provisioner = dedicated.wants(service) ? dedicated : shared;
      const name = `${service.metadata.name}-db`;
      const children = statefulSet ? [{ ...statefulSet, kind: 'StatefulSet', metadata: { name } }] : [];
      const result = await provisioner.provision(service, { log, children });
      events.push(...result.events);
      return result;
    },
    release: async (key: string) => {
      const service = microServices.get(key) as MicroService | undefined;
      if (!service || !shared.mustRelease(service)) return undefined;
      const released = await shared.release(service, { log, children: [] });
      events.push(...released.events);
      return released;
    },
  };
  const ms = microService('orders', (m) => {
    m.spec.database = { serverRef: 'pg', reclaimPolicy: 'Delete' };
  });
  api.put('MicroService', ms as KubeObject);
  microServices.upsert(ms as KubeObject);
  return { api, clock, events, calls, claims, step, ms, microServices, shared, dedicated };
}

describe('SharedDatabaseProvisioner: tenancy', () => {
  it('a namespace the server does not admit gets NamespaceNotAllowed: no call to the server, no write', async () => {
    const { api, calls, claims, step, ms, events } = setUp({ serverSpec: { allowedNamespaces: { from: 'Same' } } });
    const result = await step.provision(ms);
    assert.equal(result.condition.reason, 'NamespaceNotAllowed');
    assert.match(result.condition.message, /admits only namespace ops .*not shop/);
    assert.deepEqual([api.writes, calls, claims], [[], [], []], 'no finalizer, no Secret, nothing on the server');
    assert.equal(result.status, undefined, 'status.database names nothing');
    assert.deepEqual(
      events.map((e) => `${e.type} ${e.reason}`),
      ['Warning DatabaseFailed'],
    );
  });

  it('a database that is not the service’s gets NameConflict before the finalizer and the Secret', async () => {
    const refusal = new OwnershipConflictError('database', 'shop_orders', undefined);
    const { api, calls, step, ms, events } = setUp({ refuseWith: () => refusal });
    const result = await step.provision(ms);
    assert.equal(result.condition.reason, 'NameConflict');
    assert.equal(
      result.condition.message,
      "database shop_orders exists on DatabaseServer pg and was not created by Flotilla; it is left as it is (the DatabaseServer's spec.adoption can allow taking it over)",
    );
    assert.deepEqual([api.writes, calls], [[], []]);
    assert.equal(events[0]?.type, 'Warning');
  });

  it('adopts only where the server lists the namespace, or where an earlier Flotilla provisioned it', async () => {
    const plain = setUp();
    await plain.step.provision(plain.ms);
    assert.deepEqual(plain.claims, ['check shop/orders adopt=false', 'ensure shop/orders adopt=false']);

    const listed = setUp({ serverSpec: { adoption: { allowed: true, namespaces: ['shop'] } } });
    await listed.step.provision(listed.ms);
    assert.deepEqual(listed.claims, ['check shop/orders adopt=true', 'ensure shop/orders adopt=true']);

    const other = setUp({ serverSpec: { adoption: { allowed: true, namespaces: ['legacy'] } } });
    await other.step.provision(other.ms);
    assert.deepEqual(other.claims, ['check shop/orders adopt=false', 'ensure shop/orders adopt=false']);

    const earlier = setUp();
    const status: MicroService['status'] = {
      database: { serverRef: 'pg', name: 'shop_orders', secretName: 'orders-db' },
      conditions: [
        {
          type: 'DatabaseReady',
          status: 'True',
          reason: 'Provisioned',
          message: '',
          lastTransitionTime: '2026-01-01T00:00:00Z',
        },
      ],
    };
    await earlier.step.provision({ ...earlier.ms, status } as MicroService);
    assert.deepEqual(earlier.claims, ['check shop/orders adopt=true', 'ensure shop/orders adopt=true']);
  });
});

describe('SharedDatabaseProvisioner and DedicatedDatabaseProvisioner', () => {
  it('a Secret written by someone else between the cache miss and the create is used, not replaced', async () => {
    const { api, calls, step, ms } = setUp();
    api.beforeCreate = () =>
      api.put('Secret', {
        metadata: {
          name: 'orders-db',
          namespace: 'shop',
          ownerReferences: [
            {
              apiVersion: 'flotilla.dev/v1alpha1',
              kind: 'MicroService',
              name: 'orders',
              uid: 'uid-orders',
              controller: true,
            },
          ],
        },
        data: { password: b64('the-first-password-written-by-an-earlier-run') },
      });
    const result = await step.provision(ms);
    assert.equal(result.condition.status, 'True', result.condition.message);
    assert.deepEqual(calls, ['ensure shop_orders the-first-password-written-by-an-earlier-run']);
    assert.deepEqual(api.writes, [
      'patch MicroService/orders ["flotilla.dev/database"]',
      'create Secret/orders-db',
      'apply Secret/orders-db',
    ]);
  });

  it('provisions a dedicated instance with its Secret alone: no server, no finalizer, no DDL', async () => {
    const dedicated = microService('dedicated', (m) => {
      m.spec.database = { instance: 'dedicated', engine: 'postgres' };
    });
    const { api, step, calls, shared, dedicated: provisioner } = setUp();
    assert.deepEqual([provisioner.wants(dedicated), shared.wants(dedicated)], [true, false]);
    const result = await step.provision(dedicated);
    assert.equal(result.condition.status, 'False');
    assert.equal(result.condition.reason, 'InstanceStarting', 'until its StatefulSet has a ready pod');
    assert.deepEqual(api.writes, ['create Secret/dedicated-db']);
    assert.deepEqual(calls, []);
    const ready = await step.provision(dedicated, { status: { readyReplicas: 1 } } as unknown as KubeObject);
    assert.equal(ready.condition.status, 'True');
  });

  it('refuses a server that is not postgres or mysql', async () => {
    const { api, step, ms, calls, shared } = setUp({ engine: 'redis' });
    assert.equal(shared.wants(ms), true);
    const result = await step.provision(ms);
    assert.equal(result.condition.reason, 'EngineMismatch');
    assert.match(result.condition.message, /DatabaseServer pg is a redis server/);
    assert.equal(result.retry, false, 'a spec change, not time, fixes it');
    assert.deepEqual(api.writes, [], 'no finalizer, no Secret');
    assert.deepEqual(calls, []);
  });

  it('a second provision with nothing changed makes no call to the server and no write', async () => {
    const { api, calls, step, ms } = setUp();
    await step.provision(ms);
    const written = api.objects.get('MicroService/shop/orders') as MicroService;
    const writes = api.writes.length;
    const again = await step.provision(written);
    assert.equal(again.condition.status, 'True');
    assert.equal(calls.length, 1);
    assert.equal(api.writes.length, writes);
  });

  it('a server failure: False with the reason, a growing retry delay, and no password in the message', async () => {
    let password = '';
    const { step, ms, events, api } = setUp({
      // A driver message that carries the password (the worst case): it must be redacted.
      failWith: () => new Error(`authentication of shop_orders with ${password} failed`),
    });
    api.beforeCreate = undefined;
    const result = await step.provision(ms);
    password = Buffer.from(
      String((api.objects.get('Secret/shop/orders-db')?.data as Record<string, string> | undefined)?.password),
      'base64',
    ).toString();
    assert.equal(result.condition.status, 'False');
    assert.equal(result.condition.reason, 'ServerError');
    assert.equal(result.retry, true, 'it may pass: the work queue runs it again, with its backoff');
    const second = await step.provision(api.objects.get('MicroService/shop/orders') as MicroService);
    assert.match(second.condition.message, /authentication of shop_orders with \[redacted\] failed/);
    assert.ok(!second.condition.message.includes(password));
    assert.ok(!JSON.stringify(events).includes(password));
    assert.equal(second.retry, true);
  });

  it('deletion: retries until the deadline from deletionTimestamp, then gives up naming what is left', async () => {
    let down = false;
    const { api, clock, events, step, ms, microServices } = setUp({
      failWith: () => (down ? Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }) : undefined),
    });
    await step.provision(ms);
    down = true;
    const deleting = {
      ...(api.objects.get('MicroService/shop/orders') as KubeObject),
      status: { database: { serverRef: 'pg', name: 'shop_orders', secretName: 'orders-db' } },
    };
    deleting.metadata = { ...deleting.metadata, deletionTimestamp: '2026-01-01T00:00:00Z' };
    microServices.upsert(deleting);
    const first = await step.release('shop/orders');
    assert.equal(first?.done, false);
    assert.ok(first?.retryNotAfterMs !== undefined && first.retryNotAfterMs <= 60_000);
    assert.deepEqual(
      events.map((e) => e.reason),
      ['DatabaseProvisioned', 'DatabaseDropFailed'],
    );
    assert.ok(!api.writes.some((w) => w.endsWith('[]')), 'the finalizer is kept while retrying');

    await clock.advance(59_000);
    const nearly = await step.release('shop/orders');
    assert.ok(nearly?.retryNotAfterMs !== undefined && nearly.retryNotAfterMs <= 1_000, 'never past the deadline');

    await clock.advance(1_000);
    assert.equal((await step.release('shop/orders'))?.done, true);
    const last = events.at(-1);
    assert.equal(last?.type, 'Warning');
    assert.equal(last?.reason, 'DatabaseLeftBehind');
    assert.match(
      last?.message ?? '',
      /database shop_orders and role shop_orders on DatabaseServer pg \(127\.0\.0\.1:5432\)/,
    );
    assert.equal(api.writes.at(-1), 'patch MicroService/orders []');
    assert.ok(!(api.objects.get('MicroService/shop/orders')?.metadata.finalizers ?? []).includes(DATABASE_FINALIZER));
  });
});
