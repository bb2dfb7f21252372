// The operator killed between writing a service's Secret and creating its role (a test hook makes it
// SIGKILL itself right there): after a restart the service ends with working credentials, the ones
// in the Secret written before the crash, and exactly one database and role.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { inspectServer, type ServerInspector } from '../databases/inspect.ts';
import { connectToCluster } from '../support/cluster.ts';
import { eventually } from '../support/eventually.ts';
import { ensureNamespace, installCrds } from './api-support.ts';
import { createTestServer, databaseSecret } from './database-support.ts';
import {
  conditionOf,
  freshNamespace,
  kubectlApply,
  microServiceManifest,
  startOperator,
} from './microservice-support.ts';

const cluster = await connectToCluster();
const namespace = freshNamespace('ms-db-crash');
const serverName = `${namespace}-pg`;
const database = `${namespace.replaceAll('-', '_')}_ledger`;

describe('a crash between the Secret and the role', () => {
  let operator: ChildProcess | undefined;
  let server: ServerInspector | undefined;

  after(async () => {
    operator?.kill('SIGKILL');
    if (server) {
      for (const name of await server.databaseNames(database))
        await server.execute(`DROP DATABASE "${name}" WITH (FORCE)`);
      for (const name of await server.roleNames(database)) await server.execute(`DROP ROLE "${name}"`);
      await server.close();
    }
    await cluster
      .kubectl([
        '-n',
        namespace,
        'patch',
        'microservice',
        'ledger',
        '--type',
        'merge',
        '-p',
        '{"metadata":{"finalizers":null}}',
      ])
      .catch(() => '');
    await cluster.kubectl([
      'delete',
      'namespace',
      namespace,
      `${namespace}-admin`,
      '--wait=false',
      '--ignore-not-found',
    ]);
    await cluster.kubectl(['delete', 'databaseserver', serverName, '--ignore-not-found']);
  });

  it('ends with working credentials after a restart', { timeout: 120_000 }, async () => {
    await installCrds(cluster);
    await ensureNamespace(cluster, namespace);
    const pg = await createTestServer(cluster, 'postgres', serverName, `${namespace}-admin`);
    server = await inspectServer(pg.admin);

    const crashing = await startOperator(cluster, namespace, {
      ...process.env,
      FLOTILLA_TEST_CRASH_AFTER_DATABASE_SECRET: '1',
    });
    operator = crashing.child;
    const signal = new Promise((resolve) => crashing.child.once('exit', (_code, signal) => resolve(signal)));
    await kubectlApply(
      cluster,
      microServiceManifest(namespace, 'ledger', {
        image: 'registry.example.com/ledger:1',
        database: { serverRef: serverName, reclaimPolicy: 'Delete' },
      }),
    );
    assert.equal(await signal, 'SIGKILL', 'the operator died at the hook');
    const written = await databaseSecret(cluster, namespace, 'ledger');
    assert.ok((written.password ?? '').length >= 32, 'the Secret was written before the crash');
    assert.deepEqual(await server.roleNames(database), [], 'and no role exists yet');
    assert.deepEqual(await server.databaseNames(database), []);

    const restarted = await startOperator(cluster, namespace);
    operator = restarted.child;
    await eventually(
      'DatabaseReady',
      async () => assert.equal((await conditionOf(cluster, namespace, 'ledger', 'DatabaseReady'))?.status, 'True'),
      { timeoutMs: 60_000 },
    );
    const secret = await databaseSecret(cluster, namespace, 'ledger');
    assert.equal(secret.password, written.password, 'the password of the Secret written before the crash is kept');
    const session = await server.loginAs({
      username: secret.username ?? '',
      password: secret.password ?? '',
      database: secret.database ?? '',
    });
    assert.deepEqual(await session.query('SELECT current_user AS me'), [{ me: database }]);
    await session.close();
    assert.deepEqual(await server.roleNames(database), [database]);
    assert.deepEqual(await server.databaseNames(database), [database]);
    for (const line of [...crashing.raw, ...restarted.raw]) {
      assert.ok(!line.includes(secret.password ?? ''), 'the password is not in the logs');
    }

    // Delete drops what the restarted operator provisioned.
    await cluster.kubectl(['-n', namespace, 'delete', 'microservice', 'ledger', '--wait=true', '--timeout=60s']);
    assert.deepEqual(await server.databaseNames(database), []);
    assert.deepEqual(await server.roleNames(database), []);
    restarted.child.kill('SIGTERM');
    assert.equal(await restarted.exited, 0);
  });
});
