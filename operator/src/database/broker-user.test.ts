import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  buildAmqpUrl,
  buildBrokerPermissions,
  buildBrokerSecretData,
  computeBrokerUser,
  ownsBrokerObject,
  passwordMatchesHash,
  rabbitPasswordHash,
  subscriptionsOf,
} from './broker-user.ts';
import { InvalidIdentifierError } from './identifiers.ts';
import { BrokerHttpError, classifyBrokerError } from './rabbitmq.ts';

const spec = {
  namespace: 'shop',
  name: 'payments',
  vhost: 'shop',
  publishes: true,
  subscribesTo: ['orders'],
  maxConnections: 20,
  maxChannels: 100,
};

const matches = (regex: string, name: string) => new RegExp(regex).test(name);

describe('buildBrokerPermissions', () => {
  const p = buildBrokerPermissions('payments', true, ['orders', 'users']);

  it('configures and writes only its own exchange and the names under its prefix', () => {
    for (const own of ['payments', 'payments.q', 'payments.orders.created']) {
      assert.ok(matches(p.configure, own), own);
      assert.ok(matches(p.write, own), own);
    }
    for (const other of [
      'orders',
      'payments-x',
      'paymentsx',
      'xpayments',
      'payments.',
      'amq.default',
      '',
      'orders.q',
    ]) {
      assert.ok(!matches(p.configure, other), other);
      assert.ok(!matches(p.write, other), other);
    }
  });

  it('reads its own, and the subscribed exchanges by their exact names: not their queues', () => {
    for (const name of ['payments', 'payments.q', 'orders', 'users']) assert.ok(matches(p.read, name), name);
    for (const name of ['orders.q', 'orders.x', 'users.q', 'ordersx', 'inventory', 'amq.topic']) {
      assert.ok(!matches(p.read, name), name);
    }
  });

  it('without publishes, write covers its queues but not its exchange', () => {
    const q = buildBrokerPermissions('inventory', false, []);
    assert.ok(matches(q.write, 'inventory.q'));
    assert.ok(!matches(q.write, 'inventory'));
  });

  it('is the same whatever the order or repetition of subscriptions, and never subscribes to itself', () => {
    assert.deepEqual(
      buildBrokerPermissions('payments', true, ['users', 'orders', 'users', 'payments']),
      buildBrokerPermissions('payments', true, ['orders', 'users']),
    );
    assert.equal(buildBrokerPermissions('a', true, []).read, '^(a(\\..+)?)$');
  });

  it('subscriptionsOf reads the subscriptions back out of the read permission', () => {
    assert.deepEqual(subscriptionsOf('payments', p.read), ['orders', 'users']);
    assert.deepEqual(subscriptionsOf('payments', buildBrokerPermissions('payments', true, []).read), []);
    assert.deepEqual(subscriptionsOf('orders', p.read), []);
    assert.deepEqual(subscriptionsOf('payments', '.*'), []);
  });
});

describe('computeBrokerUser', () => {
  it('names the user <namespace>.<name>, its exchange <name>, with the mark as its tag and the limits', () => {
    const user = computeBrokerUser(spec);
    assert.equal(user.username, 'shop.payments');
    assert.equal(user.exchange, 'payments');
    assert.equal(user.vhost, 'shop');
    assert.equal(user.tag, 'flotilla.dev/owner=shop/payments');
    assert.deepEqual(user.limits, { 'max-connections': 20, 'max-channels': 100 });
    assert.deepEqual(user.permissions, buildBrokerPermissions('payments', true, ['orders']));
  });

  it('refuses names that are not DNS labels, hostile ones included', () => {
    for (const bad of ['a.b', 'a|b', '.*', 'A', 'a)$|(.*', '-a', 'a'.repeat(64), '', 'é']) {
      assert.throws(() => computeBrokerUser({ ...spec, name: bad }), InvalidIdentifierError, bad);
      assert.throws(() => computeBrokerUser({ ...spec, namespace: bad }), InvalidIdentifierError, bad);
      assert.throws(() => computeBrokerUser({ ...spec, vhost: bad }), InvalidIdentifierError, bad);
      assert.throws(() => computeBrokerUser({ ...spec, subscribesTo: [bad] }), InvalidIdentifierError, bad);
    }
  });

  it('takes maximum-length names', () => {
    const long = 'a'.repeat(63);
    const user = computeBrokerUser({ ...spec, namespace: long, name: long, vhost: long });
    assert.equal(user.username.length, 127);
  });

  it('owns its exchange and what is under its prefix only', () => {
    assert.ok(ownsBrokerObject('orders', 'orders'));
    assert.ok(ownsBrokerObject('orders', 'orders.q'));
    assert.ok(!ownsBrokerObject('orders', 'orders-v2'));
    assert.ok(!ownsBrokerObject('orders', 'ordersq'));
  });
});

describe('passwordMatchesHash', () => {
  // Made by RabbitMQ 3.10.8 for the password "pw-orders" (PUT /api/users, then GET).
  const fromServer = '7JG4V8ZdBk1mjNcA+Gpa3LEQCRk1XBRBxDYCtOIHI2aa5jFj';

  it('tells the password behind a hash the server made', () => {
    assert.ok(passwordMatchesHash('pw-orders', fromServer, 'rabbit_password_hashing_sha256'));
    assert.ok(!passwordMatchesHash('pw-orderz', fromServer, 'rabbit_password_hashing_sha256'));
  });

  it('round-trips every algorithm with its salt, and says no to nonsense', () => {
    const salt = Buffer.from([1, 2, 3, 4]);
    for (const algorithm of ['rabbit_password_hashing_sha256', 'rabbit_password_hashing_sha512']) {
      const hash = rabbitPasswordHash('s3cret', salt, algorithm);
      assert.ok(passwordMatchesHash('s3cret', hash, algorithm));
      assert.ok(!passwordMatchesHash('s3cret!', hash, algorithm));
    }
    assert.ok(!passwordMatchesHash('x', '', 'rabbit_password_hashing_sha256'));
    assert.ok(!passwordMatchesHash('x', 'AAAA', 'rabbit_password_hashing_sha256'));
    assert.ok(!passwordMatchesHash('x', undefined, undefined));
    assert.ok(!passwordMatchesHash('x', rabbitPasswordHash('x', Buffer.alloc(4)), 'rabbit_password_hashing_unknown'));
  });
});

describe('AMQP_URL and the Secret', () => {
  const credentials = {
    host: 'rabbit.svc',
    port: 5672,
    vhost: 'shop',
    username: 'shop.payments',
    password: 'p@ss/w:rd',
  };

  it('percent-encodes every part', () => {
    assert.equal(buildAmqpUrl(credentials), 'amqp://shop.payments:p%40ss%2Fw%3Ard@rabbit.svc:5672/shop');
    assert.equal(buildAmqpUrl({ ...credentials, host: '::1' }).split('@')[1], '[::1]:5672/shop');
    assert.throws(() => buildAmqpUrl({ ...credentials, port: 0 }), /invalid port/);
  });

  it('holds AMQP_URL, host, port, vhost, username and password', () => {
    assert.deepEqual(Object.keys(buildBrokerSecretData(credentials)).sort(), [
      'AMQP_URL',
      'host',
      'password',
      'port',
      'username',
      'vhost',
    ]);
  });
});

describe('classifyBrokerError', () => {
  const where = 'rabbitmq management API http://127.0.0.1:1';

  it('maps HTTP and socket failures to reasons, without the password', () => {
    assert.equal(classifyBrokerError(new BrokerHttpError(401, 'x'), where, []).reason, 'AuthenticationFailed');
    assert.equal(classifyBrokerError(new BrokerHttpError(403, 'x'), where, []).reason, 'InsufficientPrivileges');
    assert.equal(classifyBrokerError(new BrokerHttpError(500, 'x'), where, []).reason, 'ServerError');
    const refused = Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
    assert.equal(classifyBrokerError(refused, where, []).reason, 'ConnectionRefused');
    const leaky = new BrokerHttpError(500, 'GET failed for hunter2');
    assert.ok(!classifyBrokerError(leaky, where, ['hunter2']).message.includes('hunter2'));
  });
});
