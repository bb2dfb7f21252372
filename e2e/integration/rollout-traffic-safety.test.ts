// A canary never gets traffic before it can serve it, shown with the operator as a process and the
// routes watched from before each release: every version of the VirtualService (or HTTPRoute) the
// API server held is checked, not only the last. The nodes are cordoned so that the canary's pod
// stays Pending (the scheduler places nothing; kwok starts nothing), then uncordoned.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Watch } from '@kubernetes/client-node';
import { connectToCluster } from '../support/cluster.ts';
import { eventually } from '../support/eventually.ts';
import { ensureNamespace, installCrds } from './api-support.ts';
import {
  breakPodsOf,
  freshNamespace,
  GATEWAY_API_CRD_NAMES,
  gatewayApiCrds,
  getJson,
  ISTIO_CRD_NAMES,
  istioCrds,
  kubectlApply,
  microServiceManifest,
  type OperatorProcess,
  startOperator,
  waitEstablished,
} from './microservice-support.ts';

const cluster = await connectToCluster();
const namespace = freshNamespace('traffic-safety');
const IMAGE = 'registry.example.com/shop/orders';

interface RolloutJson {
  status?: { phase?: string; message?: string; canaryRevision?: string; currentStepIndex?: number };
}
type Router = 'istio' | 'gatewayAPI';
/** One version of a route: the weight on each role (`stable`, `canary`). */
type Weights = Record<string, number>;

const kubectl = (...args: string[]) => cluster.kubectl(['-n', namespace, ...args]);
const rolloutOf = (name: string) => getJson<RolloutJson>(cluster, ['-n', namespace, 'rollout.flotilla.dev', name]);
const waitFor = (name: string, condition: string, timeout = '90s') =>
  kubectl('wait', `rollout.flotilla.dev/${name}`, `--for=condition=${condition}`, `--timeout=${timeout}`);
const setImage = (name: string, tag: string) =>
  kubectl(
    'patch',
    'microservice',
    name,
    '--type',
    'merge',
    '-p',
    JSON.stringify({ spec: { image: `${IMAGE}:${tag}` } }),
  );

function weightsOfRoute(router: Router, route: { spec?: Record<string, unknown> }): Weights {
  const weights: Weights = {};
  if (router === 'istio') {
    type Http = { name?: string; route: { destination: { subset?: string }; weight?: number }[] };
    const http = (route.spec?.http ?? []) as Http[];
    const mesh = http.find((h) => h.name === 'mesh') ?? http[0];
    for (const r of mesh?.route ?? []) weights[r.destination.subset ?? 'all'] = r.weight ?? 100;
  } else {
    type Rule = { backendRefs?: { name: string; weight?: number }[] };
    const rule = ((route.spec?.rules ?? []) as Rule[])[0];
    for (const b of rule?.backendRefs ?? []) {
      const role = b.name.endsWith('-canary') ? 'canary' : b.name.endsWith('-stable') ? 'stable' : 'all';
      weights[role] = b.weight ?? 1;
    }
  }
  return weights;
}

/** Every version of one route from now on, as the API server's watch delivers them. */
async function watchRoute(router: Router, name: string) {
  const path =
    router === 'istio'
      ? `/apis/networking.istio.io/v1/namespaces/${namespace}/virtualservices`
      : `/apis/gateway.networking.k8s.io/v1/namespaces/${namespace}/httproutes`;
  const versions: Weights[] = [];
  const request = await new Watch(cluster.kubeConfig).watch(
    path,
    { fieldSelector: `metadata.name=${name}` },
    (type: string, object: { spec?: Record<string, unknown> }) => {
      if (type === 'ADDED' || type === 'MODIFIED') versions.push(weightsOfRoute(router, object));
    },
    () => {},
  );
  return { versions, stop: () => request.abort() };
}

async function nodeNames(): Promise<string[]> {
  const names = await cluster.kubectl(['get', 'nodes', '-o', 'jsonpath={.items[*].metadata.name}']);
  return names.split(/\s+/).filter(Boolean);
}
const cordon = async () => cluster.kubectl(['cordon', ...(await nodeNames())]);
const uncordon = async () => cluster.kubectl(['uncordon', ...(await nodeNames())]);

async function canaryDeployment(service: string) {
  const canary = (await rolloutOf(service)).status?.canaryRevision;
  assert.ok(canary, 'a release is in progress');
  return getJson<{ spec: { replicas?: number }; status?: { readyReplicas?: number } }>(cluster, [
    '-n',
    namespace,
    'deployment',
    `${service}-${canary}`,
  ]);
}

async function releasedService(name: string, router: Router, extra: object = {}) {
  await kubectlApply(
    cluster,
    microServiceManifest(namespace, name, {
      image: `${IMAGE}:1.0.0`,
      replicas: 1,
      ports: [{ name: 'http', port: 80, targetPort: 8080 }],
    }),
  );
  await kubectlApply(cluster, {
    apiVersion: 'flotilla.dev/v1alpha1',
    kind: 'Rollout',
    metadata: { name, namespace },
    spec: {
      serviceRef: { name },
      strategy: { canary: { steps: [{ setWeight: 20 }, { pause: {} }], trafficRouting: router, ...extra } },
    },
  });
  await waitFor(name, 'Ready');
}

/** Runs `body` with every node cordoned; uncordons whatever happens. */
async function whileCordoned(body: () => Promise<void>): Promise<void> {
  await cordon();
  try {
    await body();
  } finally {
    await uncordon();
  }
}

describe('A canary never gets traffic before it can serve it', { timeout: 600_000 }, () => {
  let operator: OperatorProcess | undefined;
  before(async () => {
    await installCrds(cluster);
    const crds = [...istioCrds().crds, ...gatewayApiCrds()];
    await cluster.kubectl(['apply', '--server-side', '--force-conflicts', '-f', '-'], {
      input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: crds }),
    });
    await waitEstablished(cluster, [...ISTIO_CRD_NAMES, ...GATEWAY_API_CRD_NAMES]);
    await ensureNamespace(cluster, namespace);
    operator = await startOperator(cluster, namespace);
  });
  after(async () => {
    await uncordon().catch(() => '');
    operator?.child.kill('SIGKILL');
    await cluster.kubectl(['delete', 'namespace', namespace, '--wait=false', '--ignore-not-found']);
  });

  for (const router of ['istio', 'gatewayAPI'] as const) {
    it(`${router}: a Pending canary pod keeps the route at 100/0 and the status says why; Ready → 80/20`, async () => {
      const name = router === 'istio' ? 'orders' : 'billing';
      await releasedService(name, router);
      const route = await watchRoute(router, name);
      try {
        await whileCordoned(async () => {
          // When a new version is released while no pod can start
          await setImage(name, '2.0.0');
          // Then the canary is scaled, but the route keeps all traffic on stable, and says so
          await eventually('the release waits for its canary pod', async () => {
            const status = (await rolloutOf(name)).status;
            assert.equal(status?.phase, 'Progressing');
            assert.match(
              status?.message ?? '',
              /step 1 of 2: waiting for 1 of 1 canary pods to be Ready before sending 20% of traffic to \S+ \(0% now\)/,
            );
            assert.equal((await canaryDeployment(name)).spec.replicas, 1);
          });
          await new Promise((resolve) => setTimeout(resolve, 3_000));
          assert.equal((await canaryDeployment(name)).status?.readyReplicas ?? 0, 0, 'the canary pod is Pending');
          assert.ok(route.versions.length > 0, 'the route was watched');
          assert.deepEqual(
            route.versions.filter((weights) => (weights.canary ?? 0) > 0),
            [],
            'no version of the route ever gave the unready canary a weight',
          );
        });
        // When the pod can start: it gets its 20 % once Ready
        await eventually('the canary pod Ready', async () => {
          assert.equal((await canaryDeployment(name)).status?.readyReplicas, 1);
        });
        await eventually(
          'the route at 80/20',
          () => assert.deepEqual(route.versions.at(-1), { stable: 80, canary: 20 }),
          { timeoutMs: 2_000, intervalMs: 50 },
        );
        await waitFor(name, 'Paused');
        assert.equal((await rolloutOf(name)).status?.currentStepIndex, 1);
      } finally {
        route.stop();
      }
    });
  }

  it('a canary pod that never gets Ready never receives a request, and is aborted at the deadline', async () => {
    await releasedService('reviews', 'istio', { progressDeadlineSeconds: 8 });
    const route = await watchRoute('istio', 'reviews');
    try {
      await whileCordoned(async () => {
        await setImage('reviews', '2.0.0');
        let canary = '';
        await eventually('the canary Deployment', async () => {
          canary = (await rolloutOf('reviews')).status?.canaryRevision ?? '';
          assert.ok(canary);
          await canaryDeployment('reviews');
        });
        await breakPodsOf(cluster, namespace, `reviews-${canary}`);
      });
      await waitFor('reviews', 'Aborted');
      assert.equal((await rolloutOf('reviews')).status?.phase, 'Degraded');
      assert.deepEqual(route.versions.at(-1), { stable: 100, canary: 0 });
      assert.deepEqual(
        route.versions.filter((weights) => (weights.canary ?? 0) > 0),
        [],
        'the unready canary never had a weight',
      );
    } finally {
      route.stop();
    }
  });

  it('a canary pod that stops being Ready mid-step gives its weight back to stable at once', async () => {
    await releasedService('ratings', 'istio', { progressDeadlineSeconds: 600 });
    await setImage('ratings', '2.0.0');
    await waitFor('ratings', 'Paused');
    const canary = (await rolloutOf('ratings')).status?.canaryRevision;
    const route = await watchRoute('istio', 'ratings');
    try {
      await eventually('the route watched at 80/20', () =>
        assert.deepEqual(route.versions.at(-1), { stable: 80, canary: 20 }),
      );
      // When the canary's one pod stops being Ready (its readiness probe fails: the kubelet's job, done here by hand)
      const pod = await cluster.kubectl([
        '-n',
        namespace,
        'get',
        'pods',
        '-l',
        `flotilla.dev/revision=${canary}`,
        '-o',
        'jsonpath={.items[0].metadata.name}',
      ]);
      const notReady = { status: { conditions: [{ type: 'Ready', status: 'False', reason: 'ReadinessProbeFailed' }] } };
      await kubectl('patch', 'pod', pod, '--subresource=status', '--type', 'strategic', '-p', JSON.stringify(notReady));
      // Then the route takes its 20 % back, and the Rollout says what it waits for
      await eventually('the weight back on stable', () =>
        assert.deepEqual(route.versions.at(-1), { stable: 100, canary: 0 }),
      );
      const status = (await rolloutOf('ratings')).status;
      assert.equal(status?.phase, 'Progressing');
      assert.match(status?.message ?? '', /waiting for 1 of 1 canary pods to be Ready before sending 20%/);
      // When it is Ready again, the weight returns and the pause holds as before
      const ready = { status: { conditions: [{ type: 'Ready', status: 'True' }] } };
      await kubectl('patch', 'pod', pod, '--subresource=status', '--type', 'strategic', '-p', JSON.stringify(ready));
      await eventually('the weight back on the canary', () =>
        assert.deepEqual(route.versions.at(-1), { stable: 80, canary: 20 }),
      );
      await waitFor('ratings', 'Paused');
    } finally {
      route.stop();
    }
  });
});
