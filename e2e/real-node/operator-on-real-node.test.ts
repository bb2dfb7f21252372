// The operator as users run it: its image built from the Dockerfile, installed with the Helm chart,
// its Pods real containers on a real kubelet (`npm run cluster -- up --real-node`). Given the chart
// in a namespace that enforces the restricted Pod Security Standard, the Pod runs as 65532 on a
// read-only root, its probes pass through the kubelet, it takes the Lease and reconciles the shop;
// with two replicas one leads and one stands by, and deleting the leader moves leadership within
// lease + retry with no reconcile lost; `helm upgrade` to a new image tag rolls the Pods with never
// two leaders at once; and a MicroService of a locally built image gets real pods that answer
// through its Service, a canary of it (trafficRouting: replicas) taking its share of real requests.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  REAL_NODE_LABEL,
  REAL_NODE_NAME,
  REAL_NODE_NAMESPACE_ANNOTATIONS,
  REAL_NODE_TAINT,
} from '../cluster/real-node.ts';
import { buildOperatorImage, operatorVersion, podmanShell } from '../image/podman.ts';
import {
  conditionOf,
  deleteShopNamespace,
  getJson,
  SHOP_SERVICES,
  shopSamples,
} from '../integration/microservice-support.ts';
import { connectToCluster } from '../support/cluster.ts';
import { eventually } from '../support/eventually.ts';
import {
  assertOneLeaderAtATime,
  buildEchoImages,
  CHART,
  chartInstallArgs,
  helm,
  loadImage,
  ReleaseLogs,
  requireRealNode,
} from './support.ts';

const cluster = await connectToCluster();
const version = operatorVersion;
const id = Date.now().toString(36);
const releaseNamespace = `real-${id}`;
const shopNamespace = `real-shop-${id}`;
const appNamespace = `real-app-${id}`;
const release = 'flotilla'; // its resources are all named `flotilla`
const lease = `${release}-leader`;
const selector = `app.kubernetes.io/instance=${release}`;
const LEASE_SECONDS = 15;
const RETRY_SECONDS = 2;

/** The chart's values of this test, as `helm install` takes them (also shown in the README). */
function installArgs(): string[] {
  return [
    ...chartInstallArgs(release, releaseNamespace, version, shopNamespace),
    '--set-json',
    `tolerations=[{"key":"${REAL_NODE_TAINT.key}","operator":"Exists","effect":"${REAL_NODE_TAINT.effect}"}]`,
    '--set-json',
    `nodeSelector={"${REAL_NODE_LABEL}":"true"}`,
    '--wait',
    '--timeout',
    '2m',
  ];
}

/** `helm upgrade --reuse-values --set <value> --wait`: the release with one value changed. */
async function helmUpgrade(value: string, timeout: string): Promise<void> {
  await helm(cluster, [
    'upgrade',
    release,
    CHART,
    '-n',
    releaseNamespace,
    '--reuse-values',
    '--set',
    value,
    '--wait',
    '--timeout',
    timeout,
  ]);
}

interface PodJson {
  metadata: { name: string; deletionTimestamp?: string };
  spec: { nodeName?: string; containers: { image: string }[] };
  status: {
    phase: string;
    conditions?: { type: string; status: string }[];
    containerStatuses?: { ready: boolean; restartCount: number; image: string }[];
  };
}

async function releasePods(): Promise<PodJson[]> {
  const list = await getJson<{ items: PodJson[] }>(cluster, ['-n', releaseNamespace, 'pods', '-l', selector]);
  return list.items.filter((pod) => !pod.metadata.deletionTimestamp);
}

const isReady = (pod: PodJson) =>
  pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

async function leaseHolder(): Promise<string> {
  const held = await getJson<{ spec: { holderIdentity?: string } }>(cluster, ['-n', releaseNamespace, 'lease', lease]);
  return held.spec.holderIdentity ?? '';
}

/** The Pod that holds the Lease (identities are `<pod name>_<random>`). */
async function leaderPod(): Promise<string> {
  const holder = await leaseHolder();
  assert.ok(holder.includes('_'), `the Lease is held (holder ${JSON.stringify(holder)})`);
  return holder.slice(0, holder.lastIndexOf('_'));
}

async function execIn(pod: string, command: string[]): Promise<string> {
  // Right after a start the kubelet may not know the container yet ("container not found"): retried.
  for (let attempt = 1; ; attempt++) {
    try {
      return await cluster.kubectl(['-n', releaseNamespace, 'exec', pod, '--', ...command]);
    } catch (error) {
      if (!/container not found/.test(String(error)) || attempt >= 30) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

/** /readyz of the operator in `pod`, asked from inside the Pod (as the kubelet's probe asks it). */
async function readyzOf(pod: string): Promise<{ status: number; body: { role: string } }> {
  const script =
    'const r = await fetch("http://127.0.0.1:8081/readyz"); console.log(JSON.stringify({ status: r.status, body: await r.json() }))';
  return JSON.parse(await execIn(pod, ['node', '--input-type=module', '-e', script])) as {
    status: number;
    body: { role: string };
  };
}

/** GETs `url` `count` times from inside the operator's Pod (a new connection each), counting the answers. */
async function countAnswers(pod: string, url: string, count: number): Promise<Record<string, number>> {
  const script = `const counts = {};
for (let i = 0; i < ${count}; i++) {
  const response = await fetch(${JSON.stringify(url)}, { signal: AbortSignal.timeout(3000) });
  const text = (await response.text()).trim();
  const key = response.status === 200 ? text : \`\${response.status} \${text}\`;
  counts[key] = (counts[key] ?? 0) + 1;
}
console.log(JSON.stringify(counts));`;
  return JSON.parse(await execIn(pod, ['node', '--input-type=module', '-e', script])) as Record<string, number>;
}

// The real node joins the local control plane (`up --real-node`); a kind cluster has none (its nodes
// are all real, and the chart on them is e2e/kind/kind-smoke.test.ts): on kind the test says so.
const notOnKind =
  process.env.FLOTILLA_CLUSTER_BACKEND === 'kind'
    ? 'not run on kind: it needs the local control plane’s real node (kind’s chart test is e2e/kind/kind-smoke.test.ts)'
    : undefined;

describe(`the operator on a real node${notOnKind ? ` — ${notOnKind}` : ''}`, {
  concurrency: false,
  timeout: 15 * 60_000,
  skip: notOnKind ?? false,
}, () => {
  let logs: ReleaseLogs;

  before(async () => {
    await requireRealNode(cluster);
    const image = await buildOperatorImage();
    assert.equal(image, `localhost/flotilla:${version}`);
    await loadImage(image);
    const restricted = {
      'pod-security.kubernetes.io/enforce': 'restricted',
      'pod-security.kubernetes.io/enforce-version': 'latest',
    };
    await cluster.kubectl(['apply', '-f', '-'], {
      input: JSON.stringify({
        kind: 'List',
        apiVersion: 'v1',
        items: [
          { apiVersion: 'v1', kind: 'Namespace', metadata: { name: releaseNamespace, labels: restricted } },
          { apiVersion: 'v1', kind: 'Namespace', metadata: { name: shopNamespace } },
        ],
      }),
    });
    logs = new ReleaseLogs(cluster, releaseNamespace, selector);
    logs.start();
  });

  after(async () => {
    logs?.stop();
    await helm(cluster, ['uninstall', release, '-n', releaseNamespace, '--wait', '--timeout', '60s']).catch(() => '');
    await deleteShopNamespace(cluster, shopNamespace).catch(() => {});
    await cluster.kubectl([
      'delete',
      'namespace',
      releaseNamespace,
      appNamespace,
      '--wait=false',
      '--ignore-not-found',
    ]);
  });

  it('installs with helm into a restricted namespace; the Pod runs as 65532 on a read-only root, Ready through the kubelet’s probes', {
    timeout: 5 * 60_000,
  }, async () => {
    const started = Date.now();
    const notes = await helm(cluster, installArgs());
    assert.match(notes, /STATUS: deployed/);
    console.log(`# helm install --wait: ${((Date.now() - started) / 1000).toFixed(1)}s`);
    const [pod, ...others] = await releasePods();
    assert.ok(pod, 'one operator Pod');
    assert.deepEqual(others, []);
    assert.equal(pod.spec.nodeName, REAL_NODE_NAME);
    assert.ok(isReady(pod), 'Ready: its readiness probe passed through the kubelet');
    assert.equal(pod.status.containerStatuses?.[0]?.restartCount, 0, 'the liveness probe never failed');
    assert.equal((await execIn(pod.metadata.name, ['id', '-u'])).trim(), '65532');
    await assert.rejects(execIn(pod.metadata.name, ['touch', '/written']), /Read-only file system/);
    // /healthz and /readyz answer inside the Pod as the kubelet sees them.
    const readyz = await readyzOf(pod.metadata.name);
    assert.equal(readyz.status, 200);
    assert.equal(readyz.body.role, 'leader');
  });

  it('takes the Lease and reconciles the shop into Ready MicroServices', { timeout: 3 * 60_000 }, async () => {
    const [pod] = await releasePods();
    await eventually('the Pod holds the Lease', async () => assert.equal(await leaderPod(), pod?.metadata.name));
    await cluster.kubectl(['apply', '-f', '-'], {
      // Databases on a server that does not exist report ServerNotFound; the services are Ready anyway.
      input: JSON.stringify({
        kind: 'List',
        apiVersion: 'v1',
        items: shopSamples(shopNamespace).map((doc) => {
          const spec = (doc as { spec?: { database?: object } }).spec;
          if (!spec?.database) return doc;
          return { ...doc, spec: { ...spec, database: { ...spec.database, serverRef: `${shopNamespace}-absent` } } };
        }),
      }),
    });
    for (const name of SHOP_SERVICES) {
      await eventually(
        `${name} Ready`,
        async () => assert.equal((await conditionOf(cluster, shopNamespace, name, 'Ready'))?.status, 'True'),
        { timeoutMs: 90_000 },
      );
    }
    const lines = logs.entries(pod?.metadata.name ?? '');
    assert.ok(
      lines.some((line) => line.msg === 'became leader'),
      '`kubectl logs` through the kubelet shows it leading',
    );
  });

  it('with replicaCount 2, one leads and one stands by; deleting the leader moves leadership within lease + retry, no reconcile lost', {
    timeout: 4 * 60_000,
  }, async () => {
    await helmUpgrade('replicaCount=2', '2m');
    // helm's --wait may end on the Deployment's status before the controller counted the new Pod.
    let pods: PodJson[] = [];
    await eventually('two Ready Pods', async () => {
      pods = await releasePods();
      assert.equal(pods.length, 2);
      assert.ok(pods.every(isReady), 'both Ready: the standby is in contact with the API server');
    });
    const leader = await leaderPod();
    const standby = pods.map((p) => p.metadata.name).find((name) => name !== leader);
    assert.ok(standby, 'a standby');
    const standbyReadyz = await readyzOf(standby);
    assert.deepEqual([standbyReadyz.status, standbyReadyz.body.role], [200, 'standby']);

    // When the leader's Pod is deleted, and a MicroService changes during the handover
    const deletedAt = Date.now();
    await cluster.kubectl(['-n', releaseNamespace, 'delete', 'pod', leader, '--wait=false']);
    await cluster.kubectl([
      '-n',
      shopNamespace,
      'patch',
      'microservice',
      'users',
      '--type',
      'merge',
      '-p',
      '{"spec":{"replicas":3}}',
    ]);
    // Then another Pod takes the Lease within lease + retry: the standby, or the Pod that replaces
    // the deleted one when it starts in time to win the race for the released Lease ...
    await eventually(
      'another Pod leads',
      async () => {
        const holder = await leaderPod();
        assert.notEqual(holder, leader);
        assert.ok(
          (await releasePods()).some((pod) => pod.metadata.name === holder),
          `${holder} is a live Pod`,
        );
      },
      { timeoutMs: (LEASE_SECONDS + RETRY_SECONDS + 5) * 1000 },
    );
    const tookMs = Date.now() - deletedAt;
    console.log(`# leadership moved in ${(tookMs / 1000).toFixed(1)}s`);
    assert.ok(tookMs <= (LEASE_SECONDS + RETRY_SECONDS) * 1000, `moved in ${tookMs} ms`);
    // ... and the change made meanwhile is reconciled.
    await eventually(
      'users scaled to 3',
      async () => {
        const deployments = await getJson<{ items: { spec: { replicas: number } }[] }>(cluster, [
          '-n',
          shopNamespace,
          'deployments',
          '-l',
          'app.kubernetes.io/name=users',
        ]);
        assert.deepEqual(
          deployments.items.map((d) => d.spec.replicas),
          [3],
        );
      },
      { timeoutMs: 60_000 },
    );
    await eventually(
      'two Ready Pods again',
      async () => {
        const again = await releasePods();
        assert.equal(again.filter(isReady).length, 2);
      },
      { timeoutMs: 90_000 },
    );
    assertOneLeaderAtATime(logs.leaderSpans(), 2);
  });

  it('helm upgrade to a new image tag rolls the operator with never two leaders at once', {
    timeout: 5 * 60_000,
  }, async () => {
    const next = `${version}-next`;
    await podmanShell(`podman tag localhost/flotilla:${version} localhost/flotilla:${next}`);
    await loadImage(`localhost/flotilla:${next}`);
    await helmUpgrade(`image.tag=${next}`, '3m');
    await eventually(
      'two Ready Pods of the new image',
      async () => {
        const pods = await releasePods();
        assert.equal(pods.length, 2);
        assert.ok(pods.every(isReady));
        assert.ok(pods.every((pod) => pod.spec.containers[0]?.image.endsWith(`:${next}`)));
      },
      { timeoutMs: 90_000 },
    );
    // The last old leader released the Lease on SIGTERM; a new Pod takes it within the retry period.
    await eventually(
      'a new Pod leads',
      async () => {
        const holder = await leaderPod();
        assert.ok(
          (await releasePods()).some((pod) => pod.metadata.name === holder),
          `${holder} is a new Pod`,
        );
      },
      { timeoutMs: (LEASE_SECONDS + RETRY_SECONDS) * 1000 },
    );
    assertOneLeaderAtATime(logs.leaderSpans(), 3);
  });

  it('a MicroService of a locally built image runs real pods that answer through its Service; a canary moves real traffic by replica ratio', {
    timeout: 5 * 60_000,
  }, async () => {
    const [v1, v2] = await buildEchoImages(['v1', 'v2']);
    // Every Pod of this namespace goes to the real node (its taint tolerated, its label selected).
    await cluster.kubectl(['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: appNamespace, annotations: REAL_NODE_NAMESPACE_ANNOTATIONS },
      }),
    });
    await helmUpgrade(`watchNamespace=${appNamespace}`, '2m');
    const manifest = (image: string | undefined) => ({
      apiVersion: 'flotilla.dev/v1alpha1',
      kind: 'MicroService',
      metadata: { name: 'echo', namespace: appNamespace },
      spec: {
        image,
        replicas: 2,
        ports: [{ name: 'http', port: 80, targetPort: 8080 }],
        probes: { readiness: { httpGet: { path: '/healthz', port: 'http' } } },
      },
    });
    const rollout = {
      apiVersion: 'flotilla.dev/v1alpha1',
      kind: 'Rollout',
      metadata: { name: 'echo', namespace: appNamespace },
      spec: {
        serviceRef: { name: 'echo' },
        strategy: { canary: { steps: [{ setWeight: 50 }, { pause: {} }], trafficRouting: 'replicas' } },
      },
    };
    await cluster.kubectl(['apply', '-f', '-'], {
      input: JSON.stringify({ kind: 'List', apiVersion: 'v1', items: [manifest(v1), rollout] }),
    });
    await eventually(
      'echo Ready',
      async () => assert.equal((await conditionOf(cluster, appNamespace, 'echo', 'Ready'))?.status, 'True'),
      {
        timeoutMs: 120_000,
      },
    );
    const pods = await getJson<{ items: PodJson[] }>(cluster, ['-n', appNamespace, 'pods']);
    assert.ok(
      pods.items.length >= 2 && pods.items.every((pod) => pod.spec.nodeName === REAL_NODE_NAME),
      'real pods on the real node',
    );
    const clusterIp = (
      await cluster.kubectl(['-n', appNamespace, 'get', 'service', 'echo', '-o', 'jsonpath={.spec.clusterIP}'])
    ).trim();
    const client = await leaderPod();
    // kube-proxy writes the Service's rules within a second or so of its endpoints.
    await eventually('the Service answers', async () =>
      assert.deepEqual(await countAnswers(client, `http://${clusterIp}/`, 20), { v1: 20 }),
    );

    // When the image changes, the canary takes half the pods behind the one Service
    await cluster.kubectl([
      '-n',
      appNamespace,
      'patch',
      'microservice',
      'echo',
      '--type',
      'merge',
      '-p',
      JSON.stringify({ spec: { image: v2 } }),
    ]);
    await eventually(
      'the canary paused at 50%',
      async () => {
        const r = await getJson<{ status?: { phase?: string; canaryWeight?: number } }>(cluster, [
          '-n',
          appNamespace,
          'rollout.flotilla.dev',
          'echo',
        ]);
        assert.equal(r.status?.phase, 'Paused');
        assert.equal(r.status?.canaryWeight, 50);
      },
      { timeoutMs: 120_000 },
    );
    await eventually('both versions answer', async () =>
      assert.deepEqual(Object.keys(await countAnswers(client, `http://${clusterIp}/`, 20)).sort(), ['v1', 'v2']),
    );
    // Every canary endpoint in kube-proxy's rules before counting (it syncs within about a second).
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const counts = await countAnswers(client, `http://${clusterIp}/`, 300);
    console.log(`# answers by version at setWeight 50: ${JSON.stringify(counts)}`);
    assert.deepEqual(Object.keys(counts).sort(), ['v1', 'v2']);
    const share = (counts.v2 ?? 0) / 300;
    assert.ok(share > 0.3 && share < 0.7, `v2 answered ${(share * 100).toFixed(0)}% of requests`);
  });
});
