import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildDeployment } from './deployment.ts';
import { buildMessagingEnv, buildMessagingSecret, messagingSecretName } from './messaging.ts';
import { childMeta } from './meta.ts';
import { type Modifier, microService, withEnv } from './testing.ts';

const withMessaging: Modifier = (ms) => {
  ms.spec.messaging = { serverRef: 'rabbitmq-main', subscribesTo: ['orders'] };
};

describe('buildMessagingEnv', () => {
  it('gives nothing to a service without messaging', () => {
    assert.deepEqual(buildMessagingEnv('payments', microService('payments').spec), []);
  });

  it('reads AMQP_URL from the Secret <name>-mq, and the Deployment carries it', () => {
    const ms = microService('payments', withMessaging);
    const env = [{ name: 'AMQP_URL', valueFrom: { secretKeyRef: { name: 'payments-mq', key: 'AMQP_URL' } } }];
    assert.deepEqual(buildMessagingEnv('payments', ms.spec), env);
    const container = buildDeployment(ms).spec?.template.spec?.containers[0];
    assert.deepEqual(
      container?.env?.filter((e) => e.name === 'AMQP_URL'),
      env,
    );
  });

  it('leaves AMQP_URL alone when the user sets it by hand', () => {
    const ms = microService('payments', withMessaging, withEnv({ name: 'AMQP_URL', value: 'amqp://elsewhere' }));
    assert.deepEqual(buildMessagingEnv('payments', ms.spec, [{ name: 'AMQP_URL', value: 'amqp://elsewhere' }]), []);
  });
});

it('buildMessagingSecret writes the credentials, base64, into the Secret <name>-mq owned by the service', () => {
  const ms = microService('payments', withMessaging);
  const credentials = { host: 'rabbit.svc', port: 5672, vhost: 'shop', username: 'shop.payments', password: 'pw' };
  const secret = buildMessagingSecret(ms, credentials);
  assert.equal(messagingSecretName('payments'), 'payments-mq');
  assert.deepEqual(secret.metadata, childMeta(ms, 'payments-mq'));
  const decoded = Object.fromEntries(
    Object.entries(secret.data).map(([key, value]) => [key, Buffer.from(value, 'base64').toString()]),
  );
  assert.deepEqual(decoded, {
    AMQP_URL: 'amqp://shop.payments:pw@rabbit.svc:5672/shop',
    ...credentials,
    port: '5672',
  });
});
