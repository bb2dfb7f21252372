// The kind smoke, as CI runs it on a kind cluster (`FLOTILLA_CLUSTER_BACKEND=kind npm run cluster -- up`):
// the operator's image built from the Dockerfile and loaded into kind, installed with the Helm chart;
// the shop's MicroServices, their images replaced by a tiny locally built HTTP server (kind has no
// kwok to simulate pods), Ready on real pods; one canary of orders promoted to the end and one
// aborted back to the stable revision.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildOperatorImage, operatorVersion } from '../image/podman.ts';
import {
  conditionOf,
  deleteShopNamespace,
  getJson,
  SHOP_SERVICES,
  shopSamples,
} from '../integration/microservice-support.ts';
import { buildEchoImages, chartInstallArgs, helm, loadImage } from '../real-node/support.ts';
import { connectToCluster } from '../support/cluster.ts';
import { eventually } from '../support/eventually.ts';

const cluster = await connectToCluster();
const version = operatorVersion;
const id = Date.now().toString(36);
const releaseNamespace = `kind-${id}`;
const shopNamespace = `kind-shop-${id}`;
const release = 'flotilla';

interface RolloutStatus {
  status?: { phase?: string; currentStepIndex?: number; canaryWeight?: number };
}

async function rolloutPhase(name: string): Promise<string | undefined> {
  const rollout = await getJson<RolloutStatus>(cluster, ['-n', shopNamespace, 'rollout.flotilla.dev', name]);
  return rollout.status?.phase;
}

/** The images of the Ready pods of one MicroService, counted. */
async function readyImages(service: string): Promise<Record<string, number>> {
  const pods = await getJson<{
    items: {
      metadata: { deletionTimestamp?: string };
      spec: { containers: { image: string }[] };
      status: { conditions?: { type: string; status: string }[] };
    }[];
  }>(cluster, ['-n', shopNamespace, 'pods', '-l', `app.kubernetes.io/name=${service}`]);
  const counts: Record<string, number> = {};
  for (const pod of pods.items) {
    const ready = pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
    const image = pod.spec.containers[0]?.image;
    if (ready && image && !pod.metadata.deletionTimestamp) counts[image] = (counts[image] ?? 0) + 1;
  }
  return counts;
}

async function patch(kind: string, name: string, body: object): Promise<void> {
  await cluster.kubectl(['-n', shopNamespace, 'patch', kind, name, '--type', 'merge', '-p', JSON.stringify(body)]);
}

function timed(what: string, started: number): void {
  console.log(`# ${what}: ${((Date.now() - started) / 1000).toFixed(1)}s`);
}

describe('kind smoke: the chart with the built image, the shop Ready, a canary promoted and one aborted', {
  concurrency: false,
  timeout: 20 * 60_000,
}, () => {
  let images: string[] = [];

  before(async () => {
    const providers = await cluster.kubectl(['get', 'nodes', '-o', 'jsonpath={.items[*].spec.providerID}']);
    assert.match(
      providers,
      /^kind:\/\//,
      'this test runs on a kind cluster: FLOTILLA_CLUSTER_BACKEND=kind npm run cluster -- up (see the README)',
    );
    const started = Date.now();
    const image = await buildOperatorImage();
    assert.equal(image, `localhost/flotilla:${version}`);
    await loadImage(image);
    images = await buildEchoImages(['v1', 'v2', 'v3']);
    timed('operator image and echo images built and loaded into kind', started);
    await cluster.kubectl(['create', 'namespace', releaseNamespace]);
    await cluster.kubectl(['create', 'namespace', shopNamespace]);
  });

  after(async () => {
    await helm(cluster, ['uninstall', release, '-n', releaseNamespace, '--wait', '--timeout', '60s']).catch(() => '');
    await deleteShopNamespace(cluster, shopNamespace).catch(() => {});
    await cluster.kubectl(['delete', 'namespace', releaseNamespace, '--wait=false', '--ignore-not-found']);
  });

  it('installs the chart with the built image; the operator Pod is Ready', { timeout: 5 * 60_000 }, async () => {
    const started = Date.now();
    const notes = await helm(cluster, [
      ...chartInstallArgs(release, releaseNamespace, version, shopNamespace),
      '--wait',
      '--timeout',
      '3m',
    ]);
    assert.match(notes, /STATUS: deployed/);
    timed('helm install --wait', started);
  });

  it('the shop, on the echo image, is Ready on real pods', { timeout: 5 * 60_000 }, async () => {
    const started = Date.now();
    const [v1] = images;
    await cluster.kubectl(['apply', '-f', '-'], {
      // Without their databases and broker users: no database or broker server is reachable from
      // kind's pods (the test servers listen on the host's loopback), and a real kubelet, unlike
      // kwok, starts no pod whose credentials Secret is missing.
      input: JSON.stringify({
        kind: 'List',
        apiVersion: 'v1',
        items: shopSamples(shopNamespace).map((doc) => {
          const { kind, spec } = doc as {
            kind: string;
            spec: { database?: object; messaging?: object; cache?: object };
          };
          if (kind !== 'MicroService') return doc;
          const { database: _database, messaging: _messaging, cache: _cache, ...rest } = spec;
          return { ...doc, spec: { ...rest, image: v1 } };
        }),
      }),
    });
    for (const name of SHOP_SERVICES) {
      await eventually(
        `${name} Ready`,
        async () => assert.equal((await conditionOf(cluster, shopNamespace, name, 'Ready'))?.status, 'True'),
        { timeoutMs: 180_000 },
      );
    }
    await eventually('both orders pods Ready on v1', async () =>
      assert.deepEqual(await readyImages('orders'), { [v1 as string]: 2 }),
    );
    timed('the shop Ready', started);
  });

  it('a canary of orders, promoted, ends with every pod on the new image', { timeout: 5 * 60_000 }, async () => {
    const started = Date.now();
    const [, v2] = images;
    await patch('microservice', 'orders', { spec: { image: v2 } });
    await eventually(
      'the canary paused at its first step',
      async () => assert.equal(await rolloutPhase('orders'), 'Paused'),
      {
        timeoutMs: 120_000,
      },
    );
    await patch('rollout.flotilla.dev', 'orders', { spec: { promote: 'full' } });
    await eventually('the canary released', async () => assert.equal(await rolloutPhase('orders'), 'Healthy'), {
      timeoutMs: 180_000,
    });
    await eventually('only v2 pods Ready', async () =>
      assert.deepEqual(await readyImages('orders'), { [v2 as string]: 2 }),
    );
    timed('canary promoted', started);
  });

  it('a canary of orders, aborted, leaves the stable image serving', { timeout: 5 * 60_000 }, async () => {
    const started = Date.now();
    const [, v2, v3] = images;
    await patch('microservice', 'orders', { spec: { image: v3 } });
    await eventually(
      'the canary paused at its first step',
      async () => assert.equal(await rolloutPhase('orders'), 'Paused'),
      {
        timeoutMs: 120_000,
      },
    );
    assert.ok((await readyImages('orders'))[v3 as string], 'a v3 canary pod is Ready before the abort');
    await patch('rollout.flotilla.dev', 'orders', { spec: { abort: true } });
    await eventually('the canary aborted', async () =>
      assert.equal((await conditionOf(cluster, shopNamespace, 'orders', 'Degraded'))?.reason, 'ReleaseAborted'),
    );
    await eventually('only the stable v2 pods Ready', async () =>
      assert.deepEqual(await readyImages('orders'), { [v2 as string]: 2 }),
    );
    timed('canary aborted', started);
  });

  it('a canary whose pods never get Ready (the echo server told ECHO_FAIL=not-ready) is aborted at its progress deadline', {
    timeout: 4 * 60_000,
  }, async () => {
    const started = Date.now();
    const [, v2] = images;
    await patch('rollout.flotilla.dev', 'orders', { spec: { strategy: { canary: { progressDeadlineSeconds: 15 } } } });
    await patch('microservice', 'orders', { spec: { env: [{ name: 'ECHO_FAIL', value: 'not-ready' }] } });
    await eventually(
      'the canary aborted by its deadline',
      async () => {
        const rollout = await getJson<RolloutStatus & { status?: { conditions?: object[] } }>(cluster, [
          '-n',
          shopNamespace,
          'rollout.flotilla.dev',
          'orders',
        ]);
        assert.equal(rollout.status?.phase, 'Degraded');
        assert.match(JSON.stringify(rollout.status?.conditions), /ProgressDeadlineExceeded/);
      },
      { timeoutMs: 120_000 },
    );
    assert.deepEqual(await readyImages('orders'), { [v2 as string]: 2 }, 'the stable pods kept serving');
    timed('canary aborted at its progress deadline', started);
  });
});
