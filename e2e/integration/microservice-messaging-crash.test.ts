// The operator killed between writing a service's Secret <name>-mq and creating its broker user (the test hook
// makes it SIGKILL itself right there): after a restart the service ends with working credentials, the ones in
// the Secret written before the crash, and exactly one user.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, describe, it } from 'node:test';
import amqp from 'amqplib';
import { rabbitmqServer } from '../databases/rabbitmq.ts';
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
  startOperator,
} from './microservice-support.ts';

const cluster = await connectToCluster();
const namespace = freshNamespace('ms-mq-crash');
const serverName = `${namespace}-rabbitmq`;

describe('a crash between the Secret and the broker user', () => {
  let operator: ChildProcess | undefined;

  after(async () => {
    operator?.kill('SIGTERM');
    await cluster
      .kubectl(['-n', namespace, 'delete', 'microservice', 'ledger', '--wait=true', '--timeout=60s'])
      .catch(() => '');
    operator?.kill('SIGKILL');
    await cluster.kubectl(['delete', 'namespace', namespace, '--wait=false', '--ignore-not-found']);
    await cluster.kubectl(['delete', 'databaseserver', serverName, '--ignore-not-found']);
  });

  it('ends with working credentials after a restart', { timeout: 120_000 }, async () => {
    const broker = await rabbitmqServer();
    await installCrds(cluster);
    await ensureNamespace(cluster, namespace);
    await createRabbitmqServer(cluster, namespace, serverName, broker);
    const userExists = async () => (await managementApi(broker)('GET', `/users/${namespace}.ledger`)).status === 200;

    const crashing = await startOperator(cluster, namespace, {
      env: { ...process.env, FLOTILLA_TEST_CRASH_AFTER_DATABASE_SECRET: '1' },
    });
    operator = crashing.child;
    const signal = new Promise((resolve) => crashing.child.once('exit', (_code, signal) => resolve(signal)));
    await kubectlApply(
      cluster,
      microServiceManifest(namespace, 'ledger', {
        image: 'registry.example.com/ledger:1',
        messaging: { serverRef: serverName, reclaimPolicy: 'Delete' },
      }),
    );
    assert.equal(await signal, 'SIGKILL', 'the operator died at the hook');
    const secret = await getJson<{ data: Record<string, string> }>(cluster, ['-n', namespace, 'secret', 'ledger-mq']);
    const written = Buffer.from(secret.data.AMQP_URL ?? '', 'base64').toString();
    assert.equal(await userExists(), false, 'the user was made before the crash');

    operator = (await startOperator(cluster, namespace)).child;
    await eventually(
      'MessagingReady after the restart',
      async () => {
        const condition = await conditionOf(cluster, namespace, 'ledger', 'MessagingReady');
        assert.equal(condition?.status, 'True', JSON.stringify(condition));
      },
      { timeoutMs: 60_000 },
    );
    const connection = await amqp.connect(written);
    try {
      await (await connection.createChannel()).assertExchange('ledger', 'topic');
    } finally {
      await connection.close();
    }
    assert.deepEqual(await usersIn(broker, namespace), [`${namespace}.ledger`]);
  });
});
