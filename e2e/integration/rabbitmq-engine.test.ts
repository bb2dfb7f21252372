// The rabbitmq engine against a real RabbitMQ, without the cluster: a second ensure writes nothing and never
// rotates the password; what exists without Flotilla's mark, or holds the same names from another namespace,
// is refused; adoption takes it over; limits are set; Retain-style drop keeps queues, purge removes them.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import amqp from 'amqplib';
import { type BrokerUser, type BrokerUserSpec, computeBrokerUser } from '../../operator/src/database/broker-user.ts';
import { OwnershipConflictError } from '../../operator/src/database/ownership.ts';
import { createRabbitmqEngine } from '../../operator/src/database/rabbitmq.ts';
import { type RabbitmqServer, rabbitmqServer } from '../databases/rabbitmq.ts';
import { managementApi } from './messaging-support.ts';

const vhost = `engine-${Date.now().toString(36)}`;
const spec = (name: string, extra: Partial<BrokerUserSpec> = {}): BrokerUserSpec => ({
  namespace: vhost,
  name,
  vhost,
  publishes: true,
  subscribesTo: [],
  maxConnections: 3,
  maxChannels: 7,
  ...extra,
});

describe('the rabbitmq engine', () => {
  let broker: RabbitmqServer;
  /** A user, or a list of named objects (users, queues, exchanges), as the management API answers. */
  type Answer = { password_hash?: string; limits?: Record<string, number>; tags?: string[] } & { name: string }[];
  const api = (method: string, path: string, body?: unknown) => managementApi(broker)<Answer>(method, path, body);

  before(async () => {
    broker = await rabbitmqServer();
  });

  after(async () => {
    const users = (await api('GET', '/users')).json.filter((u) => u.name.startsWith(`${vhost}.`));
    for (const user of users) await api('DELETE', `/users/${encodeURIComponent(user.name)}`);
    await api('DELETE', `/vhosts/${vhost}`);
  });

  it('makes the user once: a second ensure writes nothing and keeps the password hash', async () => {
    const engine = createRabbitmqEngine(broker);
    const user = computeBrokerUser(spec('orders'));
    const owner = { owner: `${vhost}/orders`, password: randomBytes(16).toString('hex') };
    const first = await engine.ensureBrokerUser(user, owner);
    assert.deepEqual(first.actions, ['CreateVhost', 'SetUser', 'SetPermissions', 'SetLimits']);
    const hash = (await api('GET', `/users/${user.username}`)).json.password_hash;
    const writes = engine.writes;
    assert.deepEqual((await engine.ensureBrokerUser(user, owner)).actions, []);
    assert.equal(engine.writes, writes, 'the second ensure wrote');
    assert.equal((await api('GET', `/users/${user.username}`)).json.password_hash, hash, 'the password was rotated');
    const limits = (await api('GET', `/users/${user.username}`)).json.limits;
    assert.deepEqual(limits, { 'max-connections': 3, 'max-channels': 7 });
    // The limits hold: the fourth connection is refused.
    const url = `amqp://${user.username}:${owner.password}@${broker.amqpHost}:${broker.amqpPort}/${vhost}`;
    const open = [await amqp.connect(url), await amqp.connect(url), await amqp.connect(url)];
    try {
      await assert.rejects(amqp.connect(url), /connection limit|ACCESS_REFUSED|NOT_ALLOWED|Expected ConnectionOpenOk/i);
    } finally {
      await Promise.all(open.map((c) => c.close()));
    }
  });

  it('refuses a user without the mark unless adoption allows it, and another namespace’s same name', async () => {
    const engine = createRabbitmqEngine(broker);
    const user = computeBrokerUser(spec('legacy'));
    await api('PUT', `/users/${user.username}`, { password: 'theirs', tags: '' });
    await assert.rejects(
      engine.checkBrokerOwnership(user, { owner: `${vhost}/legacy` }),
      (e: unknown) => e instanceof OwnershipConflictError && e.markedOwner === undefined,
    );
    const adopted = await engine.ensureBrokerUser(user, { owner: `${vhost}/legacy`, adopt: true, password: 'ours-1' });
    assert.ok(adopted.actions.includes('AdoptUser'), adopted.actions.join());
    assert.deepEqual((await api('GET', `/users/${user.username}`)).json.tags, [`flotilla.dev/owner=${vhost}/legacy`]);

    const twin = computeBrokerUser(spec('legacy', { namespace: `${vhost}-x` }));
    await assert.rejects(
      engine.checkBrokerOwnership(twin, { owner: `${vhost}-x/legacy` }),
      (e: unknown) => e instanceof OwnershipConflictError && e.objectName === user.username,
    );
  });

  it('drops the user; with purge also its queues and exchanges, and nothing of another service', async () => {
    const engine = createRabbitmqEngine(broker);
    const users = ['keep', 'gone', 'keep-other'].map((name) => computeBrokerUser(spec(name)));
    for (const user of users) {
      await engine.ensureBrokerUser(user, { owner: `${vhost}/${user.exchange}`, password: 'pw' });
      await api('PUT', `/exchanges/${vhost}/${user.exchange}`, { type: 'topic' });
      await api('PUT', `/queues/${vhost}/${user.exchange}.q`, {});
    }
    const [keep, gone] = users as [BrokerUser, BrokerUser, BrokerUser];
    assert.deepEqual((await engine.dropBrokerUser(keep, { owner: `${vhost}/keep`, purge: false })).actions, [
      'DeleteUser',
    ]);
    const dropped = await engine.dropBrokerUser(gone, { owner: `${vhost}/gone`, purge: true });
    assert.deepEqual(dropped.deleted, { queues: 1, exchanges: 1 });
    const queues = (await api('GET', `/queues/${vhost}`)).json.map((q) => q.name).sort();
    assert.deepEqual(queues, ['keep-other.q', 'keep.q']);
    const exchanges = (await api('GET', `/exchanges/${vhost}`)).json.map((x) => x.name);
    assert.ok(exchanges.includes('keep') && exchanges.includes('keep-other') && !exchanges.includes('gone'));
    assert.equal((await api('GET', `/users/${vhost}.keep`)).status, 404);
  });
});
