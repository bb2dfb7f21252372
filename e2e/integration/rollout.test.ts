// Releases end to end, driven only by kubectl as a user would (apply, patch, wait, get), with the
// operator running as users run it (`flotilla run`, a child process) and Istio's real CRDs
// installed: a canary through its steps with two manual promotions and the VirtualService weights
// checked at each; the operator SIGKILLed at a pause and restarted; abort and retry; a failing
// canary aborted by the health gate; a new image mid-canary; a blue-green switch; a canary of an
// autoscaled service; and a canary split by replica counts (no mesh).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { computeCanaryReplicas } from '../../operator/src/strategy/index.ts';
import { connectToCluster } from '../support/cluster.ts';
import { eventually } from '../support/eventually.ts';
import { ensureNamespace, installCrds } from './api-support.ts';
import {
  breakPodsOf,
  freshNamespace,
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
const namespace = freshNamespace('rollouts');
const VS = 'virtualservices.networking.istio.io';
const IMAGE = 'registry.example.com/shop/orders';

interface RolloutJson {
  metadata: { generation: number };
  spec: { promote?: string; abort?: boolean; retry?: boolean };
  status?: {
    phase?: string;
    message?: string;
    stableRevision?: string;
    canaryRevision?: string;
    canaryWeight?: number;
    currentStepIndex?: number;
    lastAction?: { action: string; message?: string };
    conditions?: { type: string; status: string; reason: string }[];
  };
}
interface DeploymentJson {
  metadata: { name: string; labels?: Record<string, string> };
  spec: { replicas?: number };
  status?: { readyReplicas?: number };
}

const kubectl = (...args: string[]) => cluster.kubectl(['-n', namespace, ...args]);
const rolloutOf = (name: string) => getJson<RolloutJson>(cluster, ['-n', namespace, 'rollout.flotilla.dev', name]);
const patchRollout = (name: string, spec: object) =>
  kubectl('patch', 'rollout.flotilla.dev', name, '--type', 'merge', '-p', JSON.stringify({ spec }));
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
/** `kubectl wait` on a Rollout condition, as CI would wait for a release. */
const waitFor = (name: string, condition: string, timeout = '90s') =>
  kubectl('wait', `rollout.flotilla.dev/${name}`, `--for=condition=${condition}`, `--timeout=${timeout}`);

/**
 * The Deployments of a service as `revision=replicas`, sorted. (A service that ran before its
 * Rollout keeps its plain Deployment, adopted under its own name, so names are not compared.)
 */
async function deploymentsOf(service: string): Promise<string[]> {
  const list = await getJson<{ items: DeploymentJson[] }>(cluster, [
    '-n',
    namespace,
    'deployments',
    '-l',
    `app.kubernetes.io/name=${service}`,
  ]);
  return list.items.map((d) => `${d.metadata.labels?.['flotilla.dev/revision']}=${d.spec.replicas}`).sort();
}

/** The mesh route's weights: `subset:weight` per destination. */
async function weightsOf(service: string): Promise<string[]> {
  const vs = await getJson<{
    spec: { http: { name?: string; route: { destination: { subset?: string }; weight?: number }[] }[] };
  }>(cluster, ['-n', namespace, VS, service]);
  const mesh = vs.spec.http.find((route) => route.name === 'mesh') ?? vs.spec.http[0];
  return (mesh?.route ?? []).map((r) => `${r.destination.subset ?? '-'}:${r.weight ?? 100}`);
}

function service(name: string, spec: Record<string, unknown> = {}) {
  return microServiceManifest(namespace, name, {
    image: `${IMAGE}:1.0.0`,
    replicas: 4,
    ports: [{ name: 'http', port: 80, targetPort: 8080 }],
    ...spec,
  });
}

function rollout(name: string, strategy: object) {
  return {
    apiVersion: 'flotilla.dev/v1alpha1',
    kind: 'Rollout',
    metadata: { name, namespace },
    spec: { serviceRef: { name }, strategy },
  };
}

const CANARY = {
  canary: {
    steps: [{ setWeight: 10 }, { pause: {} }, { setWeight: 50 }, { pause: {} }],
    trafficRouting: 'istio',
    scaleDownDelaySeconds: 2,
  },
};

describe('Rollouts, driven by kubectl, with the operator as a separate process', { timeout: 600_000 }, () => {
  let operator: OperatorProcess | undefined;
  before(async () => {
    await installCrds(cluster);
    const { crds } = istioCrds();
    await cluster.kubectl(['apply', '--server-side', '--force-conflicts', '-f', '-'], {
      input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: crds }),
    });
    await waitEstablished(cluster, ISTIO_CRD_NAMES);
    await ensureNamespace(cluster, namespace);
    operator = await startOperator(cluster, namespace);
  });
  after(async () => {
    operator?.child.kill('SIGKILL');
    await cluster.kubectl(['delete', 'namespace', namespace, '--wait=false', '--ignore-not-found']);
  });

  it('a canary through its steps with two manual promotions, surviving a SIGKILL at a pause', async () => {
    // Given a service released by a canary Rollout, Ready on its first version
    await kubectlApply(cluster, service('orders'));
    await kubectlApply(cluster, rollout('orders', CANARY));
    await waitFor('orders', 'Ready');
    await kubectl('wait', 'microservice/orders', '--for=condition=Ready', '--timeout=60s');
    const v1 = (await rolloutOf('orders')).status?.stableRevision;
    assert.ok(v1);
    assert.deepEqual(await weightsOf('orders'), ['stable:100']);
    assert.deepEqual(await deploymentsOf('orders'), [`${v1}=4`]);

    // When a new image is pushed
    await setImage('orders', '2.0.0');
    // Then the canary pauses at 10 % with one pod
    await waitFor('orders', 'Paused');
    let status = (await rolloutOf('orders')).status;
    const v2 = status?.canaryRevision;
    assert.ok(v2 && v2 !== v1);
    assert.equal(status?.currentStepIndex, 1);
    assert.deepEqual(await weightsOf('orders'), ['stable:90', 'canary:10']);
    assert.deepEqual(await deploymentsOf('orders'), [`${v1}=4`, `${v2}=1`].sort());

    // When the operator is killed at the pause and started again
    operator?.child.kill('SIGKILL');
    await operator?.exited;
    operator = await startOperator(cluster, namespace);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    // Then it resumes at the same step: same weights, no extra Deployment
    status = (await rolloutOf('orders')).status;
    assert.equal(status?.currentStepIndex, 1);
    assert.equal(status?.phase, 'Paused');
    assert.deepEqual(await weightsOf('orders'), ['stable:90', 'canary:10']);
    assert.deepEqual(await deploymentsOf('orders'), [`${v1}=4`, `${v2}=1`].sort());

    // When promoted past the pause
    await patchRollout('orders', { promote: 'step' });
    // Then it pauses again at 50 %, the request cleared and recorded
    await eventually('paused at step 4', async () => {
      const r = await rolloutOf('orders');
      assert.equal(r.status?.currentStepIndex, 3);
      assert.equal(r.status?.phase, 'Paused');
      assert.equal(r.spec.promote, undefined, 'the one-shot request is cleared');
      assert.equal(r.status?.lastAction?.action, 'PromoteStep');
    });
    assert.deepEqual(await weightsOf('orders'), ['stable:50', 'canary:50']);
    assert.deepEqual(await deploymentsOf('orders'), [`${v1}=4`, `${v2}=2`].sort());

    // When promoted past the last pause
    await patchRollout('orders', { promote: 'step' });
    // Then the new version takes all traffic at full size and the old one goes after its delay
    await eventually(
      'released',
      async () => {
        const r = await rolloutOf('orders');
        assert.equal(r.status?.phase, 'Healthy');
        assert.equal(r.status?.stableRevision, v2);
      },
      { timeoutMs: 60_000 },
    );
    await waitFor('orders', 'Ready');
    assert.deepEqual(await weightsOf('orders'), ['stable:100']);
    await eventually('the old revision scaled down', async () => {
      assert.deepEqual(await deploymentsOf('orders'), [`${v2}=4`]);
    });
    await kubectl('wait', 'microservice/orders', '--for=condition=Ready', '--timeout=60s');
  });

  it('abort mid-canary sends all traffic back to stable; retry restarts the release', async () => {
    // Given the released service, and a new image paused at 10 %
    const stable = (await rolloutOf('orders')).status?.stableRevision;
    await setImage('orders', '3.0.0');
    await waitFor('orders', 'Paused');
    const canary = (await rolloutOf('orders')).status?.canaryRevision;
    // When aborted
    await patchRollout('orders', { abort: true });
    // Then all traffic is back on stable, the canary scaled away, the request cleared
    await waitFor('orders', 'Aborted');
    await eventually('aborted', async () => {
      const r = await rolloutOf('orders');
      assert.equal(r.spec.abort, undefined);
      assert.equal(r.status?.lastAction?.action, 'Abort');
      assert.deepEqual(
        (await weightsOf('orders')).filter((w) => !w.endsWith(':0')),
        ['stable:100'],
      );
      assert.deepEqual(
        (await deploymentsOf('orders')).filter((d) => !d.endsWith('=0')),
        [`${stable}=4`],
      );
    });
    // When retried
    await patchRollout('orders', { retry: true });
    // Then the same release starts over and pauses at its first pause
    await waitFor('orders', 'Paused');
    const r = await rolloutOf('orders');
    assert.equal(r.status?.canaryRevision, canary);
    assert.equal(r.spec.retry, undefined);
    assert.deepEqual(await weightsOf('orders'), ['stable:90', 'canary:10']);
  });

  it('a new image mid-canary drops the half-released version and starts over for the newest', async () => {
    const before = (await rolloutOf('orders')).status;
    await setImage('orders', '4.0.0');
    await eventually('restarted for the newest', async () => {
      const r = await rolloutOf('orders');
      assert.notEqual(r.status?.canaryRevision, before?.canaryRevision);
      assert.equal(r.status?.phase, 'Paused');
      assert.equal(r.status?.currentStepIndex, 1);
    });
    const now = (await rolloutOf('orders')).status;
    assert.deepEqual(await deploymentsOf('orders'), [`${now?.canaryRevision}=1`, `${now?.stableRevision}=4`].sort());
    assert.deepEqual(await weightsOf('orders'), ['stable:90', 'canary:10']);
    await patchRollout('orders', { promote: 'full' });
    await eventually('fully promoted', async () => {
      assert.equal((await rolloutOf('orders')).status?.stableRevision, now?.canaryRevision);
    });
  });

  it('the operator killed at a setWeight step resumes with no extra Deployment and the same end state', async () => {
    await kubectlApply(cluster, service('payments', { replicas: 4 }));
    await kubectlApply(cluster, rollout('payments', { canary: { steps: [{ setWeight: 25 }, { pause: {} }] } }));
    await waitFor('payments', 'Ready');
    const stable = (await rolloutOf('payments')).status?.stableRevision;
    await setImage('payments', '2.0.0');
    // When the operator is killed while the release is at its setWeight step
    // (As soon as the release shows: it may already be past the step, which must not matter either.)
    await eventually('the release started', async () => {
      assert.ok((await rolloutOf('payments')).status?.canaryRevision);
    });
    operator?.child.kill('SIGKILL');
    await operator?.exited;
    operator = await startOperator(cluster, namespace);
    // Then it carries on to the pause exactly as an uninterrupted run does
    await waitFor('payments', 'Paused');
    const r = await rolloutOf('payments');
    assert.equal(r.status?.currentStepIndex, 1);
    assert.deepEqual(await weightsOf('payments'), ['stable:75', 'canary:25']);
    assert.deepEqual(await deploymentsOf('payments'), [`${r.status?.canaryRevision}=1`, `${stable}=4`].sort());
  });

  it('a canary whose pods never get Ready is aborted by the health gate', async () => {
    await kubectlApply(cluster, service('reviews', { replicas: 2 }));
    await kubectlApply(
      cluster,
      rollout('reviews', { canary: { steps: [{ setWeight: 20 }, { pause: {} }], progressDeadlineSeconds: 5 } }),
    );
    await waitFor('reviews', 'Ready');
    await setImage('reviews', '2.0.0');
    let canary = '';
    await eventually('canary created', async () => {
      canary = (await rolloutOf('reviews')).status?.canaryRevision ?? '';
      assert.ok(canary);
    });
    await eventually('canary pods broken', () => breakPodsOf(cluster, namespace, `reviews-${canary}`));
    await waitFor('reviews', 'Aborted');
    const r = await rolloutOf('reviews');
    assert.equal(r.status?.phase, 'Degraded');
    assert.match(JSON.stringify(r.status?.conditions), /ProgressDeadlineExceeded/);
    const events = await kubectl(
      'get',
      'events',
      '--field-selector',
      'involvedObject.kind=Rollout,involvedObject.name=reviews,type=Warning',
      '-o',
      'jsonpath={.items[*].reason}',
    );
    assert.match(events, /ProgressDeadlineExceeded/);
    assert.deepEqual(
      (await weightsOf('reviews')).filter((w) => !w.endsWith(':0')),
      ['stable:100'],
    );
  });

  it('blue-green: the preview Service selects the new version until promoted, then the Service switches', async () => {
    await kubectlApply(cluster, service('cart', { replicas: 2 }));
    await kubectlApply(
      cluster,
      rollout('cart', { blueGreen: { autoPromotionEnabled: false, scaleDownDelaySeconds: 2 } }),
    );
    await waitFor('cart', 'Ready');
    const blue = (await rolloutOf('cart')).status?.stableRevision;
    const selectorOf = async (name: string) =>
      (await getJson<{ spec: { selector: Record<string, string> } }>(cluster, ['-n', namespace, 'service', name])).spec
        .selector['flotilla.dev/revision'];
    assert.equal(await selectorOf('cart'), blue);
    await setImage('cart', '2.0.0');
    await waitFor('cart', 'Paused');
    const green = (await rolloutOf('cart')).status?.canaryRevision;
    assert.ok(green && green !== blue);
    assert.equal(await selectorOf('cart'), blue);
    assert.equal(await selectorOf('cart-preview'), green);
    await patchRollout('cart', { promote: 'full' });
    await waitFor('cart', 'Ready');
    assert.equal(await selectorOf('cart'), green);
  });

  it('an autoscaled service through a whole canary: the HPA follows the promoted revision with no drop', async () => {
    await kubectlApply(
      cluster,
      service('search', { autoscaling: { minReplicas: 3, maxReplicas: 6, targetCPUUtilizationPercentage: 70 } }),
    );
    await kubectlApply(
      cluster,
      rollout('search', { canary: { steps: [{ setWeight: 50 }], scaleDownDelaySeconds: 2 } }),
    );
    await waitFor('search', 'Ready');
    await setImage('search', '2.0.0');
    await eventually(
      'promoted',
      async () => {
        const r = await rolloutOf('search');
        assert.equal(r.status?.phase, 'Healthy');
        assert.equal(r.status?.stableRevision, r.status?.canaryRevision ?? r.status?.stableRevision);
        const hpa = await getJson<{ spec: { scaleTargetRef: { name: string } } }>(cluster, [
          '-n',
          namespace,
          'hpa',
          'search',
        ]);
        assert.equal(hpa.spec.scaleTargetRef.name, `search-${r.status?.stableRevision}`);
        const promoted = await getJson<DeploymentJson>(cluster, [
          '-n',
          namespace,
          'deployment',
          `search-${r.status?.stableRevision}`,
        ]);
        assert.ok((promoted.spec.replicas ?? 0) >= 3, `no drop in capacity: ${promoted.spec.replicas}`);
      },
      { timeoutMs: 90_000 },
    );
    // The promoted revision's replicas stay where they were once the HPA owns them.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const r = await rolloutOf('search');
    const promoted = await getJson<DeploymentJson>(cluster, [
      '-n',
      namespace,
      'deployment',
      `search-${r.status?.stableRevision}`,
    ]);
    assert.ok((promoted.spec.replicas ?? 0) >= 3);
  });

  it('with no mesh (trafficRouting: replicas) the split is approximated by pod counts', async () => {
    await kubectlApply(cluster, service('ratings', { replicas: 4 }));
    await kubectlApply(
      cluster,
      rollout('ratings', { canary: { steps: [{ setWeight: 25 }, { pause: {} }], trafficRouting: 'replicas' } }),
    );
    await waitFor('ratings', 'Ready');
    await setImage('ratings', '2.0.0');
    await waitFor('ratings', 'Paused');
    const r = await rolloutOf('ratings');
    const deployments = await deploymentsOf('ratings');
    assert.deepEqual(
      deployments,
      [
        `${r.status?.canaryRevision}=${computeCanaryReplicas(25, 4, 'replicas')}`,
        `${r.status?.stableRevision}=4`,
      ].sort(),
    );
    const vs = await getJson<{ spec: { http: { route: { destination: { subset?: string } }[] }[] } }>(cluster, [
      '-n',
      namespace,
      VS,
      'ratings',
    ]);
    assert.ok(
      vs.spec.http.every((h) => h.route.every((d) => d.destination.subset === undefined)),
      'no subsets: every pod is behind the one Service',
    );
    assert.match(JSON.stringify(r.status), /by pod count/);
  });
  it('a Rollout whose MicroService does not exist says so, and releases once the service is applied', async () => {
    // Given a Rollout that names a service nobody has applied yet
    await kubectlApply(cluster, rollout('shipping', CANARY));
    // Then it says why nothing happens
    await eventually('ServiceNotFound', async () => {
      const r = await rolloutOf('shipping');
      const ready = r.status?.conditions?.find((c) => c.type === 'Ready');
      assert.equal(ready?.status, 'False');
      assert.equal(ready?.reason, 'ServiceNotFound');
      assert.equal(r.status?.phase, 'Degraded');
    });
    // When the service is applied, the Rollout takes it on
    await kubectlApply(cluster, service('shipping', { replicas: 2 }));
    await waitFor('shipping', 'Ready');
    const r = await rolloutOf('shipping');
    assert.equal(r.status?.phase, 'Healthy');
    assert.ok(r.status?.stableRevision, 'the running version is the stable revision');
  });
  it('a second Rollout for a service that has one is ignored and says so; the first keeps releasing', async () => {
    // Given shipping, released by its Rollout (the test before)
    await waitFor('shipping', 'Ready');
    // When another Rollout names the same service
    await kubectlApply(cluster, {
      ...rollout('shipping-again', CANARY),
      spec: { serviceRef: { name: 'shipping' }, strategy: CANARY },
    });
    // Then it says which Rollout releases the service, and the first one is untouched
    await eventually('ServiceHasAnotherRollout', async () => {
      const r = await rolloutOf('shipping-again');
      const ready = r.status?.conditions?.find((c) => c.type === 'Ready');
      assert.equal(ready?.reason, 'ServiceHasAnotherRollout');
      assert.match(r.status?.message ?? '', /released by Rollout shipping,/);
    });
    assert.equal((await rolloutOf('shipping')).status?.phase, 'Healthy');
  });
});
