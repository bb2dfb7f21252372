// spec.messaging through the operator (`flotilla run` as a process) on the real cluster and a real RabbitMQ,
// used by the services' own client (amqplib): `orders` publishes, `payments` subscribes, `inventory` neither
// publishes nor subscribes. Each service reaches its own exchange and queues and the exchanges it subscribed
// to, nothing else; a removed subscription takes its binding with it; Delete removes everything, Retain keeps;
// a broker down at provisioning gives a reason and, once back, exactly one user; passwords are nowhere.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import amqp, { type Channel, type ChannelModel } from 'amqplib';
import { type RabbitmqServer, rabbitmqDown, rabbitmqServer, rabbitmqUp } from '../databases/rabbitmq.ts';
import { connectToCluster } from '../support/cluster.ts';
import { eventually } from '../support/eventually.ts';
import { ensureNamespace, installCrds } from './api-support.ts';
import { createRabbitmqServer, managementApi, usersIn } from './messaging-support.ts';
import {
  conditionOf,
  freshNamespace,
  getJson,
  kubectlApply,
  microServiceManifest,
  type OperatorProcess,
  startOperator,
} from './microservice-support.ts';
import { expectServerChecked } from './server-check-support.ts';

const cluster = await connectToCluster();
const namespace = freshNamespace('ms-messaging');
const serverName = `${namespace}-rabbitmq-${randomBytes(2).toString('hex')}`;
const IMAGE = 'registry.example.com/shop/app:1.0.0';

const decoded = async (secret: string) => {
  const json = await getJson<{ data: Record<string, string> }>(cluster, ['-n', namespace, 'secret', secret]);
  return Object.fromEntries(Object.entries(json.data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));
};

const messaging = (spec: Record<string, unknown>) => ({ serverRef: serverName, reclaimPolicy: 'Delete', ...spec });

describe('messaging through the operator', () => {
  let operator: OperatorProcess | undefined;
  let broker: RabbitmqServer;
  const connections: ChannelModel[] = [];

  /** The management API as the admin: the JSON, or undefined on 404. */
  const admin = async <T>(path: string): Promise<T | undefined> => {
    const { status, json } = await managementApi(broker)<T>('GET', path);
    if (status === 404) return undefined;
    assert.ok(status < 300, `GET ${path}: ${status}`);
    return json;
  };
  const flotillaUsers = () => usersIn(broker, namespace);

  /** A connection as the service, from its Secret's AMQP_URL (as its pods read it). */
  const connectAs = async (service: string): Promise<ChannelModel> => {
    const url = (await decoded(`${service}-mq`)).AMQP_URL ?? '';
    const connection = await amqp.connect(url);
    connection.on('error', () => {});
    connections.push(connection);
    return connection;
  };

  /** Runs `work` on a fresh channel and expects the broker to refuse it (403 ACCESS_REFUSED). */
  const refused = async (connection: ChannelModel, what: string, work: (channel: Channel) => Promise<unknown>) => {
    const channel = await connection.createChannel();
    const closed = new Promise<Error>((resolve) => channel.once('error', resolve));
    await assert.rejects(
      (async () => {
        await work(channel);
        // A publish is answered only by closing the channel: a round trip makes sure the answer has come.
        await Promise.race([channel.checkExchange('amq.direct'), closed.then((e) => Promise.reject(e))]);
        throw new Error(`${what} was allowed`);
      })(),
      /ACCESS_REFUSED|403/,
      what,
    );
  };

  const waitReady = (name: string) =>
    eventually(
      `MessagingReady of ${name}`,
      async () => {
        const condition = await conditionOf(cluster, namespace, name, 'MessagingReady');
        assert.equal(condition?.status, 'True', JSON.stringify(condition));
      },
      { timeoutMs: 60_000 },
    );

  before(async () => {
    broker = await rabbitmqServer();
    await installCrds(cluster);
    await ensureNamespace(cluster, namespace);
    await createRabbitmqServer(cluster, namespace, serverName, broker);
    operator = await startOperator(cluster, namespace);
  });

  after(async () => {
    await Promise.all(connections.map((c) => c.close().catch(() => {})));
    await cluster
      .kubectl(['-n', namespace, 'delete', 'microservices', '--all', '--wait=true', '--timeout=60s'])
      .catch(() => {});
    operator?.child.kill('SIGTERM');
    await operator?.exited;
    await cluster.kubectl(['delete', 'namespace', namespace, '--ignore-not-found', '--wait=false']);
    await cluster.kubectl(['delete', 'databaseserver', serverName, '--ignore-not-found']);
    // What Retain kept, and the vhost (never deleted by Flotilla: the namespace's services share it).
    const api = managementApi(broker);
    for (const user of await flotillaUsers().catch(() => [])) await api('DELETE', `/users/${encodeURIComponent(user)}`);
    await api('DELETE', `/vhosts/${namespace}`);
  });

  it('a publisher and a subscriber talk; every other use of the broker is refused', async () => {
    await kubectlApply(cluster, microServiceManifest(namespace, 'orders', { image: IMAGE, messaging: messaging({}) }));
    await kubectlApply(
      cluster,
      microServiceManifest(namespace, 'payments', { image: IMAGE, messaging: messaging({ subscribesTo: ['orders'] }) }),
    );
    await kubectlApply(
      cluster,
      microServiceManifest(namespace, 'inventory', { image: IMAGE, messaging: messaging({ publishes: false }) }),
    );
    for (const name of ['orders', 'payments', 'inventory']) await waitReady(name);
    const data = await decoded('payments-mq');
    assert.equal(data.username, `${namespace}.payments`);
    assert.equal(data.vhost, namespace);
    assert.equal(data.port, String(broker.amqpPort));

    const orders = await connectAs('orders');
    const payments = await connectAs('payments');
    const inventory = await connectAs('inventory');
    const ordersChannel = await orders.createConfirmChannel();
    await ordersChannel.assertExchange('orders', 'topic');
    const paymentsChannel = await payments.createChannel();
    await paymentsChannel.assertQueue('payments.orders');
    await paymentsChannel.bindQueue('payments.orders', 'orders', 'order.*');
    ordersChannel.publish('orders', 'order.created', Buffer.from('{"id":1}'));
    await ordersChannel.waitForConfirms();
    await eventually('payments receives the event', async () => {
      const message = await paymentsChannel.get('payments.orders', { noAck: true });
      assert.ok(message, 'no message yet');
      assert.equal(message.content.toString(), '{"id":1}');
    });

    await refused(payments, 'payments publishing to the exchange of orders', async (ch) => {
      ch.publish('orders', 'order.created', Buffer.from('forged'));
    });
    await refused(inventory, 'inventory consuming the queue of payments', (ch) => ch.get('payments.orders'));
    await refused(inventory, 'inventory binding to orders, which it did not subscribe to', async (ch) => {
      await ch.assertQueue('inventory.orders');
      await ch.bindQueue('inventory.orders', 'orders', '#');
    });
    await refused(payments, 'payments declaring a queue outside its prefix', (ch) => ch.assertQueue('orders.q'));
    await refused(payments, 'payments declaring a server-named queue', (ch) => ch.assertQueue(''));
    await refused(payments, 'payments through the default exchange', async (ch) => {
      ch.sendToQueue('payments.orders', Buffer.from('x'));
    });
    await refused(inventory, 'inventory publishing to its exchange (publishes: false)', async (ch) => {
      await ch.assertExchange('inventory', 'topic');
      ch.publish('inventory', 'x', Buffer.from('x'));
    });
    const otherVhost = new URL(data.AMQP_URL ?? '');
    otherVhost.pathname = '/%2F';
    await assert.rejects(
      amqp.connect(otherVhost.toString()),
      /ACCESS_REFUSED|403|access to vhost|Expected ConnectionOpenOk/,
    );
    const management = await fetch(`${broker.managementUrl}/api/overview`, {
      headers: { authorization: `Basic ${Buffer.from(`${data.username}:${data.password}`).toString('base64')}` },
    });
    assert.equal(management.status, 401, 'the service may use the management API');

    await eventually('AMQP_URL in the pods, and egress to the broker', async () => {
      const list = await getJson<{
        items: { spec: { template: { spec: { containers: { env?: { name: string }[] }[] } } } }[];
      }>(cluster, ['-n', namespace, 'deployments', '-l', 'app.kubernetes.io/name=payments']);
      const env = list.items[0]?.spec.template.spec.containers[0]?.env?.map((e) => e.name) ?? [];
      assert.ok(env.includes('AMQP_URL'), env.join(', '));
      const policy = await cluster.kubectl(['-n', namespace, 'get', 'networkpolicy', 'payments', '-o', 'json']);
      assert.ok(policy.includes(`"port": ${broker.amqpPort}`), 'no egress to the AMQP port');
    });
    const status = await cluster.kubectl(['-n', namespace, 'get', 'microservices', '-o', 'json']);
    assert.match(status, new RegExp(`"username": "${namespace}.payments"`));
    const events = await cluster.kubectl(['-n', namespace, 'get', 'events', '-o', 'json']);
    for (const service of ['orders', 'payments', 'inventory']) {
      const password = (await decoded(`${service}-mq`)).password ?? '-';
      for (const text of [status, events, operator?.raw.join('\n') ?? '']) {
        assert.ok(!text.includes(password) && !text.includes(encodeURIComponent(password)), 'a password leaked');
      }
    }
  });

  it('a removed subscription revokes the right and removes the binding', async () => {
    const binding = () =>
      admin<{ destination: string }[]>(`/exchanges/${namespace}/orders/bindings/source`).then((list) =>
        (list ?? []).filter((b) => b.destination.startsWith('payments.')),
      );
    assert.equal((await binding()).length, 1);
    await cluster.kubectl([
      '-n',
      namespace,
      'patch',
      'microservice',
      'payments',
      '--type',
      'json',
      '-p',
      '[{"op":"remove","path":"/spec/messaging/subscribesTo"}]',
    ]);
    await eventually(
      'the read right and the binding gone',
      async () => {
        const permissions = await admin<{ read: string }>(`/permissions/${namespace}/${namespace}.payments`);
        assert.ok(permissions && !new RegExp(permissions.read).test('orders'), permissions?.read);
        assert.deepEqual(await binding(), []);
      },
      { timeoutMs: 60_000 },
    );
    const payments = await connectAs('payments');
    await refused(payments, 'payments binding again to orders', (ch) => ch.bindQueue('payments.orders', 'orders', '#'));
    const orders = await (await connectAs('orders')).createConfirmChannel();
    orders.publish('orders', 'order.created', Buffer.from('after'));
    await orders.waitForConfirms();
    const channel = await payments.createChannel();
    assert.equal(await channel.get('payments.orders'), false, 'an event arrived after the subscription was removed');
  });

  it('Delete removes the user, its queues and its exchanges; Retain keeps them', async () => {
    await kubectlApply(
      cluster,
      microServiceManifest(namespace, 'notifier', {
        image: IMAGE,
        messaging: { serverRef: serverName, subscribesTo: ['orders'] },
      }),
    );
    await waitReady('notifier');
    const notifier = await (await connectAs('notifier')).createChannel();
    await notifier.assertQueue('notifier.orders');
    await notifier.bindQueue('notifier.orders', 'orders', '#');

    for (const name of ['payments', 'notifier']) {
      await cluster.kubectl(['-n', namespace, 'delete', 'microservice', name, '--wait=true', '--timeout=60s']);
    }
    const queues = ((await admin<{ name: string }[]>(`/queues/${namespace}`)) ?? []).map((q) => q.name);
    assert.ok(!queues.includes('payments.orders'), queues.join(', '));
    assert.ok(queues.includes('notifier.orders'), queues.join(', '));
    const users = await flotillaUsers();
    assert.ok(!users.includes(`${namespace}.payments`), users.join(', '));
    assert.ok(users.includes(`${namespace}.notifier`), users.join(', '));

    await cluster.kubectl(['-n', namespace, 'delete', 'microservice', 'inventory', '--wait=true', '--timeout=60s']);
    const exchanges = ((await admin<{ name: string }[]>(`/exchanges/${namespace}`)) ?? []).map((x) => x.name);
    assert.ok(!exchanges.includes('inventory'), exchanges.join(', '));
    assert.ok(exchanges.includes('orders'), exchanges.join(', '));
  });

  it('a broker down at provisioning gives a reason, and exactly one user once it is back', async () => {
    await Promise.all(connections.splice(0).map((c) => c.close().catch(() => {})));
    await rabbitmqDown(false);
    try {
      await kubectlApply(cluster, microServiceManifest(namespace, 'late', { image: IMAGE, messaging: messaging({}) }));
      await eventually(
        'MessagingReady False, ConnectionRefused',
        async () => {
          const condition = await conditionOf(cluster, namespace, 'late', 'MessagingReady');
          assert.equal(condition?.reason, 'ConnectionRefused', JSON.stringify(condition));
        },
        { timeoutMs: 60_000 },
      );
    } finally {
      await rabbitmqUp();
    }
    await eventually(
      'MessagingReady once the broker is back',
      async () => {
        const condition = await conditionOf(cluster, namespace, 'late', 'MessagingReady');
        assert.equal(condition?.status, 'True', JSON.stringify(condition));
      },
      { timeoutMs: 120_000 },
    );
    assert.deepEqual(
      (await flotillaUsers()).filter((u) => u.endsWith('.late')),
      [`${namespace}.late`],
    );
    const channel = await (await connectAs('late')).createChannel();
    await channel.assertExchange('late', 'topic');
  });

  it('takes a name of the maximum length, and refuses hostile ones at the API', async () => {
    const long = `m${'x'.repeat(50)}z`;
    await kubectlApply(cluster, microServiceManifest(namespace, long, { image: IMAGE, messaging: messaging({}) }));
    await waitReady(long);
    const channel = await (await connectAs(long)).createChannel();
    await channel.assertExchange(long, 'topic');
    await channel.assertQueue(`${long}.events`);

    for (const [spec, pattern] of [
      [{ subscribesTo: ['orders|.*'] }, /subscribesTo/],
      [{ subscribesTo: ['orders', 'orders'] }, /duplicate|Duplicate/],
      [{ subscribesTo: ['hostile'] }, /must not name the service itself/],
      [{ vhost: '/' }, /vhost/],
    ] as const) {
      await assert.rejects(
        kubectlApply(cluster, microServiceManifest(namespace, 'hostile', { image: IMAGE, messaging: messaging(spec) })),
        pattern,
      );
    }
    await assert.rejects(
      kubectlApply(cluster, {
        apiVersion: 'flotilla.dev/v1alpha1',
        kind: 'DatabaseServer',
        metadata: { name: `${serverName}-nourl` },
        spec: { engine: 'rabbitmq', host: 'h', port: 5672, adminSecretRef: { namespace, name: 'x' } },
      }),
      /managementUrl is required with engine rabbitmq/,
    );
  });

  it('the DatabaseServer controller reports a rabbitmq server Ready, or why not, without the password', async () => {
    await expectServerChecked(cluster, { namespace, serverName, username: broker.username });
  });
});
