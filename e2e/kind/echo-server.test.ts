// On kind there is no kwok to simulate pods: the tiny HTTP server built here (localhost/flotilla-echo)
// is told by ECHO_FAIL to behave as kwok's `flotilla.dev/simulate` labels make simulated pods
// behave (e2e/integration/cluster.test.ts): never Ready, or crash-looping. Real pods, a real kubelet.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { getJson } from '../integration/microservice-support.ts';
import { buildEchoImages } from '../real-node/support.ts';
import { connectToCluster } from '../support/cluster.ts';
import { eventually } from '../support/eventually.ts';

const cluster = await connectToCluster();
const namespace = `kind-echo-${Date.now().toString(36)}`;

interface PodJson {
  status: {
    phase?: string;
    conditions?: { type: string; status: string }[];
    containerStatuses?: {
      ready: boolean;
      state?: { waiting?: { reason?: string } };
      lastState?: { terminated?: { exitCode?: number } };
    }[];
  };
}

async function podOf(app: string): Promise<PodJson | undefined> {
  return (await getJson<{ items: PodJson[] }>(cluster, ['-n', namespace, 'pods', '-l', `app=${app}`])).items[0];
}

/** A Deployment of one echo pod with ECHO_FAIL set, probed on / like a MicroService's readiness probe. */
async function deployEcho(app: string, image: string, fail: string): Promise<void> {
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: app, namespace },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app } },
      template: {
        metadata: { labels: { app } },
        spec: {
          containers: [
            {
              name: 'echo',
              image,
              imagePullPolicy: 'Never',
              env: [{ name: 'ECHO_FAIL', value: fail }],
              readinessProbe: { httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 1 },
            },
          ],
        },
      },
    },
  };
  await cluster.kubectl(['apply', '-f', '-'], { input: JSON.stringify(deployment) });
}

describe('the echo server told to misbehave (kind)', { concurrency: false, timeout: 5 * 60_000 }, () => {
  let image = '';

  before(async () => {
    const providers = await cluster.kubectl(['get', 'nodes', '-o', 'jsonpath={.items[*].spec.providerID}']);
    assert.match(providers, /^kind:\/\//, 'this test runs on a kind cluster: FLOTILLA_CLUSTER_BACKEND=kind (README)');
    [image = ''] = await buildEchoImages(['v1']);
    await cluster.kubectl(['create', 'namespace', namespace]);
  });

  after(async () => {
    await cluster.kubectl(['delete', 'namespace', namespace, '--wait=false', '--ignore-not-found']);
  });

  it('ECHO_FAIL=not-ready: the pod runs but never becomes Ready', async () => {
    await deployEcho('stuck', image, 'not-ready');
    await eventually(
      'the pod to be Running',
      async () => assert.equal((await podOf('stuck'))?.status.phase, 'Running'),
      {
        timeoutMs: 60_000,
      },
    );
    // Many probes (one a second) have failed by now.
    await new Promise((resolve) => setTimeout(resolve, 5000));
    const pod = await podOf('stuck');
    assert.equal(pod?.status.phase, 'Running');
    assert.equal(pod?.status.conditions?.find((c) => c.type === 'Ready')?.status, 'False');
  });

  it('ECHO_FAIL=crash: the container exits with code 1 and crash-loops', async () => {
    await deployEcho('crashy', image, 'crash');
    await eventually(
      'the container to be crash-looping',
      async () => {
        const container = (await podOf('crashy'))?.status.containerStatuses?.[0];
        assert.equal(container?.state?.waiting?.reason, 'CrashLoopBackOff');
        assert.equal(container?.lastState?.terminated?.exitCode, 1);
        assert.equal(container?.ready, false);
      },
      { timeoutMs: 90_000 },
    );
  });

  it('without ECHO_FAIL the same image is Ready (so the two above fail for the reason they name)', async () => {
    await deployEcho('healthy', image, '');
    await eventually(
      'the pod Ready',
      async () =>
        assert.equal((await podOf('healthy'))?.status.conditions?.find((c) => c.type === 'Ready')?.status, 'True'),
      { timeoutMs: 60_000 },
    );
  });
});
