// The cache step on the real cluster and the real Redis: the Secret <name>-cache, the finalizer and the ACL
// user, made once and confined to the service's prefix; released on deletion and when the cache is removed.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { API_VERSION, type MicroService } from '../../operator/src/api/index.ts';
import { databaseServerType, microServiceType } from '../../operator/src/controllers/microservice/resources.ts';
import { connectRedis, connectRedisUrl, type RedisAdminConnection } from '../../operator/src/database/index.ts';
import { createKubeClient, type KubeClient } from '../../operator/src/kube/client.ts';
import { type KubeObject, secretType } from '../../operator/src/kube/objects.ts';
import { CACHE_FINALIZER, RedisCacheProvisioner } from '../../operator/src/provisioning/index.ts';
import { redisServer } from '../databases/redis.ts';
import { connectToCluster } from '../support/cluster.ts';
import { ensureNamespace, installCrds } from './api-support.ts';

const cluster = await connectToCluster();
const suffix = randomBytes(4).toString('hex');
const namespace = `cache-step-${suffix}`;
const serverName = `cache-step-${suffix}`;

const decode = (secret: KubeObject) =>
  Object.fromEntries(
    Object.entries(secret.data as Record<string, string>).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]),
  );

describe('the cache step on the real cluster and Redis', () => {
  let client: KubeClient;
  let admin: RedisAdminConnection;
  let step: RedisCacheProvisioner;
  const servers = new Map<string, KubeObject>();

  async function createServer(name: string, engine: string, secret = `${name}-admin`): Promise<void> {
    const server = {
      apiVersion: API_VERSION,
      kind: 'DatabaseServer',
      metadata: { name },
      spec: { engine, host: admin.host, port: admin.port, adminSecretRef: { namespace, name: secret } },
    };
    servers.set(name, await client.apply(databaseServerType, server as unknown as KubeObject));
  }

  async function createAdminSecret(name: string, password: string): Promise<void> {
    await client.apply(secretType, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name, namespace },
      stringData: { username: admin.username ?? 'default', password },
    } as unknown as KubeObject);
  }

  async function createMicroService(name: string, cacheServer = serverName): Promise<MicroService> {
    const manifest = {
      apiVersion: API_VERSION,
      kind: 'MicroService',
      metadata: { name, namespace },
      spec: { image: 'registry.example.com/shop/orders:1.0.0', cache: { serverRef: cacheServer } },
    };
    return (await client.create(microServiceType, manifest as unknown as KubeObject)) as unknown as MicroService;
  }

  const fresh = async (name: string) =>
    (await client.get(microServiceType, name, namespace)) as unknown as MicroService;

  before(async () => {
    admin = await redisServer();
    client = await createKubeClient(cluster.kubeConfig);
    await installCrds(cluster);
    await ensureNamespace(cluster, namespace);
    await createAdminSecret(`${serverName}-admin`, admin.password);
    await createServer(serverName, 'redis');
    step = new RedisCacheProvisioner({ client, databaseServers: { get: (name) => servers.get(name) } });
  });

  after(async () => {
    // Let go of every finalizer, so the namespace can go.
    const left = await client.list(microServiceType, { namespace }).catch(() => ({ items: [] }));
    for (const ms of left.items as unknown as MicroService[]) {
      await step?.release(ms).catch(() => {});
    }
    await step?.close();
    for (const name of servers.keys()) await client?.delete(databaseServerType, name).catch(() => {});
    await cluster.kubectl(['delete', 'namespace', namespace, '--ignore-not-found', '--wait=false']);
    await client?.close();
  });

  it('writes the finalizer, the Secret and the user; the Secret’s REDIS_URL works; a second run changes nothing', async () => {
    const ms = await createMicroService('orders');
    const first = await step.provision(ms);
    assert.equal(first.condition.status, 'True', first.condition.message);
    assert.deepEqual(
      first.events.map((e) => [e.reason, e.message.replace(/.*\(/, '(')]),
      [['CacheProvisioned', '(CreateSecret, SetUser)']],
    );
    assert.deepEqual(first.status, {
      serverRef: serverName,
      username: `${namespace}.orders`,
      keyPrefix: `${namespace}:orders:`,
      secretName: 'orders-cache',
    });
    const reread = await fresh('orders');
    assert.deepEqual(reread.metadata.finalizers, [CACHE_FINALIZER]);

    const secret = await client.get(secretType, 'orders-cache', namespace);
    assert.equal(secret.metadata.ownerReferences?.[0]?.uid, ms.metadata.uid);
    const data = decode(secret);
    assert.equal(data.keyPrefix, `${namespace}:orders:`);
    assert.ok((data.password ?? '').length >= 32);
    const service = await connectRedisUrl(data.REDIS_URL ?? '');
    try {
      assert.equal(await service.set(`${data.keyPrefix}k`, 'v'), 'OK');
      await assert.rejects(service.get('elsewhere'), /NOPERM/);
    } finally {
      service.disconnect();
    }

    const second = await step.provision(reread);
    assert.deepEqual(second.events, []);
    assert.equal(second.credentialsHash, first.credentialsHash);
    assert.deepEqual(decode(await client.get(secretType, 'orders-cache', namespace)), data, 'the password is kept');
    for (const result of [first, second]) assert.ok(!JSON.stringify(result).includes(data.password ?? '-'));
  });

  it('says what is wrong with the server, without a password, and creates nothing', async () => {
    await createServer(`${serverName}-pg`, 'postgres');
    const wrong = `wrong-${randomBytes(8).toString('hex')}`;
    await createAdminSecret(`${serverName}-bad-admin`, wrong);
    await createServer(`${serverName}-bad`, 'redis', `${serverName}-bad-admin`);
    const cases: [string, string, string][] = [
      ['on-pg', `${serverName}-pg`, 'NotARedisServer'],
      ['on-nothing', `${serverName}-missing`, 'ServerNotFound'],
      ['on-bad', `${serverName}-bad`, 'AuthenticationFailed'],
    ];
    for (const [name, server, reason] of cases) {
      const ms = await createMicroService(name, server);
      const result = await step.provision(ms);
      assert.equal(result.condition.status, 'False');
      assert.equal(result.condition.reason, reason, result.condition.message);
      assert.ok(!JSON.stringify(result).includes(wrong) && !JSON.stringify(result).includes(admin.password));
      assert.deepEqual((await fresh(name)).metadata.finalizers ?? [], [], `${name}: no finalizer`);
      await assert.rejects(client.get(secretType, `${name}-cache`, namespace), /not ?found/i);
    }
  });

  it('leaves a Secret it did not create alone', async () => {
    await client.apply(secretType, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'taken-cache', namespace },
      stringData: { REDIS_URL: 'redis://someone-else' },
    } as unknown as KubeObject);
    const result = await step.provision(await createMicroService('taken'));
    assert.equal(result.condition.reason, 'SecretNotOwned');
    assert.equal(decode(await client.get(secretType, 'taken-cache', namespace)).REDIS_URL, 'redis://someone-else');
  });

  it('on deletion deletes the user and its keys, then lets the MicroService go', async () => {
    const ms = await createMicroService('gone');
    await step.provision(ms);
    const data = decode(await client.get(secretType, 'gone-cache', namespace));
    const root = await connectRedis({ ...admin });
    try {
      await root.set(`${data.keyPrefix}k`, 'v');
      await client.delete(microServiceType, 'gone', namespace);
      const deleting = await fresh('gone');
      assert.ok(deleting.metadata.deletionTimestamp, 'the finalizer holds it');
      const released = await step.release(deleting);
      assert.equal(released.done, true);
      assert.equal(released.events[0]?.reason, 'CacheDeleted');
      assert.match(released.events[0]?.message ?? '', /deleted \(1 keys\)/);
      assert.equal(await root.call('ACL', 'GETUSER', data.username ?? ''), null);
      assert.equal(await root.exists(`${data.keyPrefix}k`), 0);
      await assert.rejects(fresh('gone'), /not ?found/i);
    } finally {
      root.disconnect();
    }
  });

  it('when the cache is removed from a live service, deletes the user and the finalizer', async () => {
    const ms = await createMicroService('dropped');
    await step.provision(ms);
    const data = decode(await client.get(secretType, 'dropped-cache', namespace));
    const live = await fresh('dropped');
    const released = await step.release(live);
    assert.equal(released.done, true);
    assert.deepEqual((await fresh('dropped')).metadata.finalizers ?? [], []);
    await assert.rejects(connectRedisUrl(data.REDIS_URL ?? ''), /WRONGPASS/, 'the Secret left behind opens nothing');
  });

  it('gives up on a server that is gone, saying what was left behind', async () => {
    const ms = await createMicroService('orphan');
    await step.provision(ms);
    await client.delete(microServiceType, 'orphan', namespace);
    // The DatabaseServer is gone by the time the service is deleted.
    const server = servers.get(serverName);
    servers.delete(serverName);
    const released = await step.release(await fresh('orphan')).finally(() => server && servers.set(serverName, server));
    assert.equal(released.done, true);
    assert.equal(released.events[0]?.type, 'Warning');
    assert.equal(released.events[0]?.reason, 'CacheLeftBehind');
    assert.match(released.events[0]?.message ?? '', /gave up deleting .* ServerNotFound/);
    // Tidy up what was left behind, as a person would.
    const root = await connectRedis({ ...admin });
    await root.call('ACL', 'DELUSER', `${namespace}.orphan`);
    root.disconnect();
  });
});
