// spec.cache through the operator (`flotilla run` as a process) on the real cluster and the real Redis: the
// Secret <name>-cache, the ACL user confined to <namespace>:<name>:, CacheReady, REDIS_URL and REDIS_KEY_PREFIX
// in the pods; the user deleted when the cache is removed and when the MicroService is deleted; the
// password nowhere in the operator's logs, the Events or the status.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  connectRedis,
  connectRedisUrl,
  type RedisAdminConnection,
  RedisEngineRegistry,
} from '../../operator/src/database/index.ts';
import { redisServer } from '../databases/redis.ts';
import { connectToCluster } from '../support/cluster.ts';
import { eventually } from '../support/eventually.ts';
import { ensureNamespace, installCrds } from './api-support.ts';
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
const namespace = freshNamespace('ms-cache');
const serverName = `${namespace}-redis-${randomBytes(2).toString('hex')}`;

const decoded = async (secret: string) => {
  const json = await getJson<{ data: Record<string, string> }>(cluster, ['-n', namespace, 'secret', secret]);
  return Object.fromEntries(Object.entries(json.data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));
};

describe('a cache through the operator', () => {
  let operator: OperatorProcess | undefined;
  let admin: RedisAdminConnection;

  const user = async (username: string) => {
    const root = await connectRedis({ ...admin });
    try {
      return await root.call('ACL', 'GETUSER', username);
    } finally {
      root.disconnect();
    }
  };

  before(async () => {
    admin = await redisServer();
    await installCrds(cluster);
    await ensureNamespace(cluster, namespace);
    await kubectlApply(cluster, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'redis-admin', namespace },
      stringData: { username: admin.username ?? 'default', password: admin.password },
    });
    await kubectlApply(cluster, {
      apiVersion: 'flotilla.dev/v1alpha1',
      kind: 'DatabaseServer',
      metadata: { name: serverName },
      spec: { engine: 'redis', host: admin.host, port: admin.port, adminSecretRef: { namespace, name: 'redis-admin' } },
    });
    operator = await startOperator(cluster, namespace);
  });

  after(async () => {
    await cluster
      .kubectl(['-n', namespace, 'delete', 'microservices', '--all', '--wait=true', '--timeout=60s'])
      .catch(() => {});
    operator?.child.kill('SIGTERM');
    await operator?.exited;
    await cluster.kubectl(['delete', 'namespace', namespace, '--ignore-not-found', '--wait=false']);
    await cluster.kubectl(['delete', 'databaseserver', serverName, '--ignore-not-found']);
  });

  it('provisions the user and the Secret, injects REDIS_URL, and removes the user with the cache', async () => {
    await kubectlApply(
      cluster,
      microServiceManifest(namespace, 'orders', {
        image: 'registry.example.com/shop/orders:1.0.0',
        ports: [{ name: 'http', port: 80 }],
        cache: { serverRef: serverName },
      }),
    );
    await eventually(
      'CacheReady',
      async () => {
        const condition = await conditionOf(cluster, namespace, 'orders', 'CacheReady');
        assert.equal(condition?.status, 'True', JSON.stringify(condition));
      },
      { timeoutMs: 60_000 },
    );
    const data = await decoded('orders-cache');
    assert.equal(data.keyPrefix, `${namespace}:orders:`);
    const service = await connectRedisUrl(data.REDIS_URL ?? '');
    try {
      assert.equal(await service.set(`${data.keyPrefix}session`, 'x'), 'OK');
      await assert.rejects(service.get(`${namespace}:payments:session`), /NOPERM/);
    } finally {
      service.disconnect();
    }
    await eventually('REDIS_URL in the pods', async () => {
      const list = await getJson<{
        items: { spec: { template: { spec: { containers: { env?: { name: string }[] }[] } } } }[];
      }>(cluster, ['-n', namespace, 'deployments', '-l', 'app.kubernetes.io/name=orders']);
      const env = list.items[0]?.spec.template.spec.containers[0]?.env?.map((e) => e.name) ?? [];
      assert.ok(env.includes('REDIS_URL') && env.includes('REDIS_KEY_PREFIX'), env.join(', '));
    });
    const ms = await cluster.kubectl(['-n', namespace, 'get', 'microservice', 'orders', '-o', 'json']);
    const events = await cluster.kubectl(['-n', namespace, 'get', 'events', '-o', 'json']);
    for (const text of [ms, events, operator?.raw.join('\n') ?? '']) {
      assert.ok(!text.includes(data.password ?? '-'), 'the password leaked');
    }

    await cluster.kubectl([
      '-n',
      namespace,
      'patch',
      'microservice',
      'orders',
      '--type',
      'json',
      '-p',
      '[{"op":"remove","path":"/spec/cache"}]',
    ]);
    await eventually(
      'the user gone, and the finalizer',
      async () => {
        assert.equal(await user(data.username ?? ''), null);
        const ms = await getJson<{ metadata: { finalizers?: string[] } }>(cluster, [
          '-n',
          namespace,
          'microservice',
          'orders',
        ]);
        assert.deepEqual(ms.metadata.finalizers ?? [], []);
      },
      { timeoutMs: 60_000 },
    );
  });

  it('deletes the user and its keys when the MicroService is deleted', async () => {
    await kubectlApply(
      cluster,
      microServiceManifest(namespace, 'users', {
        image: 'registry.example.com/shop/users:1.0.0',
        cache: { serverRef: serverName },
      }),
    );
    await eventually(
      'CacheReady',
      async () => assert.equal((await conditionOf(cluster, namespace, 'users', 'CacheReady'))?.status, 'True'),
      { timeoutMs: 60_000 },
    );
    const data = await decoded('users-cache');
    assert.notEqual(await user(data.username ?? ''), null);
    await cluster.kubectl(['-n', namespace, 'delete', 'microservice', 'users', '--wait=true', '--timeout=60s']);
    assert.equal(await user(data.username ?? ''), null);
  });

  it('the DatabaseServer controller reports a redis server Ready, or why not, without the password', async () => {
    const cacheEngines = new RedisEngineRegistry();
    await expectServerChecked(cluster, { namespace, serverName, username: admin.username ?? 'default', cacheEngines });
  });
});
