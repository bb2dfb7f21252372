// The API server stopped for 20 s and started again (`npm run cluster -- stop`, then `start`): the
// controller does not crash, reconnects at a bounded rate (backoff, not a hot loop), and its caches
// resync — changes made just before the stop and right after the restart reach them, and each ends
// equal to a fresh LIST. The cluster is started again even when the test fails.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { createKubeClient, type KubeClient } from '../../operator/src/kube/client.ts';
import { isNotFound } from '../../operator/src/kube/errors.ts';
import {
  configMapType,
  type KubeObject,
  namespaceType,
  type ResourceType,
  secretType,
} from '../../operator/src/kube/objects.ts';
import type { Verb } from '../../operator/src/kube/transport.ts';
import { Controller } from '../../operator/src/runtime/controller.ts';
import { connectToCluster } from '../support/cluster.ts';
import { eventually } from '../support/eventually.ts';
import { ensureNamespace } from './runtime-helpers.ts';

const cluster = await connectToCluster();
const namespace = 'runtime-outage';
const label = { test: 'runtime-outage' };
const logger = pino({ level: process.env.LOG_LEVEL ?? 'silent' });
const OUTAGE_MS = 20_000;

const repoRoot = join(fileURLToPath(import.meta.url), '..', '..', '..');
const execFileAsync = promisify(execFile);

/** Runs `npm run cluster -- <command>` (asynchronously: the controller keeps running meanwhile). */
async function clusterTool(command: 'stop' | 'start' | 'kubeconfig'): Promise<string> {
  const { stdout } = await execFileAsync(process.execPath, [join(repoRoot, 'e2e/cluster/cli.ts'), command], {
    cwd: repoRoot,
    timeout: 240_000,
  });
  return stdout.trim();
}

interface Attempt {
  verb: Verb;
  code: string;
  at: number;
}

const summary = (objects: readonly KubeObject[]) =>
  objects.map((o) => `${o.metadata.name}@${o.metadata.resourceVersion}`).sort();

describe('the API server stopped for 20 s and started again', () => {
  let client: KubeClient;
  const attempts: Attempt[] = [];
  const crashes: unknown[] = [];
  const onCrash = (error: unknown) => crashes.push(error);

  before(async () => {
    // This test stops the cluster through the cluster tool: it must be the cluster under test.
    const managed = await clusterTool('kubeconfig');
    if (realpathSync(managed) !== realpathSync(cluster.kubeconfigPath)) {
      throw new Error(
        `this test stops the API server with \`npm run cluster -- stop\`, which manages ${managed}, ` +
          `but the tests run against ${cluster.kubeconfigPath} (FLOTILLA_KUBECONFIG?); run it against the tool's cluster`,
      );
    }
    await ensureNamespace(cluster, namespace);
    client = await createKubeClient(cluster.kubeConfig, {
      observer: (verb, code) => attempts.push({ verb, code, at: Date.now() }),
    });
    for (const type of ['configmaps', 'secrets']) {
      await cluster.kubectl(['delete', type, '-n', namespace, '-l', 'test=runtime-outage', '--wait=true']);
    }
    process.on('unhandledRejection', onCrash);
    process.on('uncaughtException', onCrash);
  });

  after(async () => {
    process.off('unhandledRejection', onCrash);
    process.off('uncaughtException', onCrash);
    await client?.close();
  });

  const configMap = (name: string, v: string): KubeObject => ({
    metadata: { name, namespace, labels: label },
    data: { v },
  });
  const secret = (name: string, v: string): KubeObject => ({
    metadata: { name, namespace, labels: label },
    stringData: { v },
  });

  it('no crash, a bounded reconnect rate, and caches equal to a fresh LIST with every change', {
    timeout: 300_000,
  }, async (t) => {
    for (const name of ['steady', 'change-before', 'delete-before', 'change-after', 'delete-after']) {
      await client.apply(configMapType, configMap(name, '1'));
    }
    await client.apply(secretType, secret('steady', '1'));
    await client.apply(secretType, secret('change-before', '1'));
    await client.apply(secretType, secret('change-after', '1'));

    // The last reconcile of each key: the data it saw ('gone' when the object was deleted).
    const reconciled = new Map<string, string>();
    const controller = new Controller({
      client,
      primary: configMapType,
      secondary: [{ type: secretType, keysFor: (object) => [`${namespace}/${object.metadata.name}`] }],
      namespace,
      concurrency: 2,
      logger,
      reconcile: async (key, { object }) => {
        reconciled.set(key, object ? String((object.data as Record<string, string>).v) : 'gone');
      },
    });
    try {
      await controller.start();
      assert.equal(controller.cache(configMapType).list({ labels: label }).length, 5);

      // Just before the stop, not waited for: the watch may or may not deliver them before it breaks.
      await client.apply(configMapType, configMap('change-before', '2'));
      await client.delete(configMapType, 'delete-before', namespace);
      await client.apply(configMapType, configMap('new-before', '1'));
      await client.apply(secretType, secret('change-before', '2'));

      await clusterTool('stop');
      const outageStart = Date.now();
      await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
      const outageEnd = Date.now();
      // `start` also waits for the controllers of the cluster to lead again (~20 s); the changes
      // "right after the restart" are made as soon as the API server accepts writes.
      const starting = clusterTool('start');
      starting.catch(() => {}); // awaited below; a failure is not an unhandled rejection meanwhile
      await eventually(
        'the API server to answer again',
        async () => void (await client.get(namespaceType, namespace)),
        {
          timeoutMs: 120_000,
          intervalMs: 100,
        },
      );
      const restarted = Date.now();
      const retried = (what: string, write: () => Promise<unknown>) =>
        eventually(
          what,
          async () => {
            await write().catch((error: unknown) => {
              if (!isNotFound(error)) throw error;
            });
          },
          { intervalMs: 100 },
        );
      await retried('change-after', () => client.apply(configMapType, configMap('change-after', '2')));
      await retried('delete-after', () => client.delete(configMapType, 'delete-after', namespace));
      await retried('new-after', () => client.apply(configMapType, configMap('new-after', '1')));
      await retried('secret change-after', () => client.apply(secretType, secret('change-after', '2')));
      const wroteAfter = Date.now();
      await starting;

      const caches: [ResourceType, string][] = [
        [configMapType, 'ConfigMaps'],
        [secretType, 'Secrets'],
      ];
      await eventually(
        'both caches to equal a fresh LIST',
        async () => {
          for (const [type, what] of caches) {
            const fresh = await client.list(type, { namespace });
            assert.deepEqual(summary(controller.cache(type).list()), summary(fresh.items), what);
          }
        },
        { timeoutMs: 90_000, intervalMs: 250 },
      );
      const resynced = Date.now();

      const names = (type: ResourceType) =>
        controller
          .cache(type)
          .list({ labels: label })
          .map((o) => o.metadata.name);
      assert.deepEqual(names(configMapType).sort(), [
        'change-after',
        'change-before',
        'new-after',
        'new-before',
        'steady',
      ]);
      const data = (name: string) => controller.cache(configMapType).get(`${namespace}/${name}`)?.data;
      assert.deepEqual(data('change-before'), { v: '2' });
      assert.deepEqual(data('change-after'), { v: '2' });
      await eventually('the reconciles of every changed key', () => {
        const ours = [...reconciled].filter(([key]) => key !== `${namespace}/kube-root-ca.crt`);
        assert.deepEqual(Object.fromEntries(ours.sort()), {
          [`${namespace}/change-after`]: '2',
          [`${namespace}/change-before`]: '2',
          [`${namespace}/delete-after`]: 'gone',
          [`${namespace}/delete-before`]: 'gone',
          [`${namespace}/new-after`]: '1',
          [`${namespace}/new-before`]: '1',
          [`${namespace}/steady`]: '1',
        });
      });

      // Bounded reconnect rate: while the server was away, the two reflectors backed off (800 ms
      // doubling, jittered: at most ~5 attempts each in 20 s) instead of retrying in a loop.
      const during = attempts.filter((a) => a.at >= outageStart && a.at <= outageEnd);
      const watchAttempts = during.filter((a) => a.verb === 'LIST' || a.verb === 'WATCH');
      t.diagnostic(
        `during the ${OUTAGE_MS / 1000} s outage: ${watchAttempts.length} list/watch attempts ` +
          `(${watchAttempts.map((a) => `${a.verb}@+${((a.at - outageStart) / 1000).toFixed(1)}s:${a.code}`).join(' ')}); ` +
          `the API server answered again; the writes after it took ${((wroteAfter - restarted) / 1000).toFixed(1)} s; ` +
          `caches equal to a fresh LIST ${((resynced - restarted) / 1000).toFixed(1)} s after it answered`,
      );
      assert.ok(watchAttempts.length >= 2, 'each reflector tried to reconnect during the outage');
      assert.ok(watchAttempts.length <= 14, `${watchAttempts.length} list/watch attempts in 20 s: not backing off`);
      assert.ok(
        watchAttempts.every((a) => a.code === 'error'),
        'no request was answered while the API server was stopped',
      );
      for (const health of controller.health()) {
        assert.equal(health.synced, true, health.kind);
        assert.equal(health.lastError, undefined, `${health.kind}: ${health.lastError}`);
      }
      assert.deepEqual(crashes, []);
    } finally {
      // The cluster is left up and healthy for the next test, whatever happened above: `start`
      // restarts it if need be and waits for /readyz and Ready nodes (at once when it is running).
      await clusterTool('start');
      await controller.stop();
    }
  });
});
