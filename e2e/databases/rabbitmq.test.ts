import assert from 'node:assert/strict';
import { it } from 'node:test';
import { externalRabbitmq, parseRabbitmqUrl } from './rabbitmq.ts';

it('parseRabbitmqUrl reads the management API URL, decoding user and password, keeping them out of the URL', () => {
  assert.deepEqual(parseRabbitmqUrl('http://flotilla_admin:p%40ss%3Aword@127.0.0.1:15672', '5673'), {
    managementUrl: 'http://127.0.0.1:15672',
    username: 'flotilla_admin',
    password: 'p@ss:word',
    amqpHost: '127.0.0.1',
    amqpPort: 5673,
  });
  assert.equal(parseRabbitmqUrl('https://a:b@[::1]:443/').amqpHost, '::1');
  assert.equal(parseRabbitmqUrl('https://a:b@rabbit/').amqpPort, 5672);
});

it('parseRabbitmqUrl says what is wrong, without echoing the URL', () => {
  assert.throws(
    () => parseRabbitmqUrl('not a url hunter2'),
    (e: Error) => /is not a URL/.test(e.message) && !e.message.includes('hunter2'),
  );
  assert.throws(() => parseRabbitmqUrl('amqp://a:b@h:1'), /must start with http:\/\/ or https:\/\//);
  assert.throws(() => parseRabbitmqUrl('http://admin@h:1'), /needs a user name and a password/);
});

it('externalRabbitmq is read from FLOTILLA_RABBITMQ_URL and FLOTILLA_RABBITMQ_AMQP_PORT only', () => {
  assert.equal(externalRabbitmq({}), undefined);
  const server = externalRabbitmq({ FLOTILLA_RABBITMQ_URL: 'http://a:b@h:7000', FLOTILLA_RABBITMQ_AMQP_PORT: '7001' });
  assert.equal(server?.managementUrl, 'http://h:7000');
  assert.equal(server?.amqpPort, 7001);
});
