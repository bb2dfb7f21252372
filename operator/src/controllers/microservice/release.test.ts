// The Rollout planner through the whole pure plan: a tiny simulated cluster applies each plan
// (children kept, Deployments' pods made Ready) and feeds the Rollout's status back, step by step.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MicroService } from '../../api/microservice.ts';
import type { RolloutSpec, RolloutStatus } from '../../api/rollout.ts';
import { buildPodTemplate, computeRevision } from '../../desired/index.ts';
import { microService, withAutoscaling, withHttpPort, withImage, withReplicas } from '../../desired/testing.ts';
import type { KubeObject } from '../../kube/objects.ts';
import { planIntake, requestsIn } from '../../release/requests.ts';
import { planReleaseWorkload, planUntilSettled, releaseTraffic } from '../../release/rollout.ts';
import { replicasToHold } from './apply.ts';
import { type Plan, plan } from './plan.ts';

const T0 = Date.parse('2026-01-01T00:00:00Z');

interface World {
  ms: MicroService;
  rollout: KubeObject;
  children: Map<string, KubeObject>;
  now: number;
  installed: { istio: boolean; gatewayAPI: boolean };
  last?: Plan;
}

function world(ms: MicroService, strategy: RolloutSpec['strategy'], istio = true): World {
  return {
    ms,
    rollout: {
      apiVersion: 'flotilla.dev/v1alpha1',
      kind: 'Rollout',
      metadata: { name: 'orders', namespace: 'default', generation: 1 },
      spec: { serviceRef: { name: 'orders' }, strategy },
      status: {},
    },
    children: new Map(),
    now: T0,
    installed: { istio, gatewayAPI: false },
  };
}

/** What acceptRequests does: the spec's requests into status.acceptedRequest, cleared from the spec. */
function intake(w: World): void {
  const spec = w.rollout.spec as RolloutSpec;
  const status = (w.rollout.status ?? {}) as RolloutStatus;
  const { accept, clear } = planIntake(spec, status.acceptedRequest);
  if (accept) w.rollout = { ...w.rollout, status: { ...status, acceptedRequest: accept } };
  if (clear.length === 0) return;
  const cleared = { ...(spec as Record<string, unknown>) };
  for (const field of clear) delete cleared[field];
  w.rollout = { ...w.rollout, spec: cleared };
}

/** One reconcile: intake, plan, apply it (Deployments get all their pods Ready), record the Rollout status. */
function step(w: World, ready = true): Plan {
  intake(w);
  const planned = plan({
    ms: w.ms,
    children: [...w.children.values()],
    foreignRoutes: [],
    deletedByOthers: new Set(),
    rollout: w.rollout,
    dependents: [],
    installed: w.installed,
    now: new Date(w.now).toISOString(),
    workloads: planReleaseWorkload,
  });
  for (const { object, observed } of planned.apply) {
    const copy = structuredClone(object);
    if (copy.kind === 'Deployment') {
      const spec = copy.spec as { replicas?: number };
      // Left to the HPA: it keeps what the Deployment had, or starts at minReplicas.
      spec.replicas ??=
        (observed?.spec as { replicas?: number } | undefined)?.replicas ?? w.ms.spec.autoscaling?.minReplicas ?? 1;
      copy.status = { replicas: spec.replicas, readyReplicas: ready ? spec.replicas : 0 };
    }
    w.children.set(`${copy.kind}/${copy.metadata.name}`, copy);
  }
  for (const gone of planned.delete) w.children.delete(`${gone.kind}/${gone.metadata.name}`);
  const release = planned.release;
  assert.ok(release, 'a Rollout gives the plan a release outcome');
  w.rollout = { ...w.rollout, status: release.status };
  w.last = planned;
  return planned;
}

function request(w: World, spec: Partial<RolloutSpec>): void {
  w.rollout = {
    ...w.rollout,
    spec: { ...(w.rollout.spec as object), ...spec },
    metadata: { ...w.rollout.metadata, generation: (w.rollout.metadata.generation ?? 1) + 1 },
  };
}

const status = (w: World) => w.rollout.status as RolloutStatus;
const deploymentNames = (w: World) =>
  [...w.children.values()]
    .filter((c) => c.kind === 'Deployment')
    .map((c) => `${c.metadata.name}=${(c.spec as { replicas?: number }).replicas}`)
    .sort();
const child = (w: World, id: string) => w.children.get(id) as { spec: Record<string, unknown> } | undefined;
type MeshRoute = { route: { destination: { subset?: string }; weight?: number }[] };
const vsWeights = (w: World) =>
  ((child(w, 'VirtualService/orders')?.spec.http ?? []) as MeshRoute[])[0]?.route.map(
    (r) => `${r.destination.subset}:${r.weight}`,
  );
const hpaTarget = (w: World) =>
  (child(w, 'HorizontalPodAutoscaler/orders')?.spec.scaleTargetRef as { name?: string } | undefined)?.name;
const revisionOf = (ms: MicroService) => computeRevision(buildPodTemplate(ms));

const canary: RolloutSpec['strategy'] = {
  canary: { steps: [{ setWeight: 10 }, { pause: {} }, { setWeight: 50 }, { pause: { duration: '1m' } }] },
};

describe('planIntake', () => {
  const spec = { serviceRef: { name: 'orders' }, strategy: canary, promote: 'step' } as RolloutSpec;
  it('accepts a new request and clears it from the spec', () => {
    assert.deepEqual(planIntake(spec, undefined), { accept: { promote: 'step' }, clear: ['promote'] });
  });
  it('only clears a request already accepted (the operator stopped before clearing it)', () => {
    assert.deepEqual(planIntake(spec, { promote: 'step', generation: 3 }), { clear: ['promote'] });
  });
  it('leaves a different request in the spec until the accepted one is carried out', () => {
    assert.deepEqual(planIntake(spec, { promote: 'full', generation: 3 }), { clear: [] });
    assert.deepEqual(planIntake({ ...spec, promote: undefined, abort: true }, { promote: 'full' }), { clear: [] });
  });
  it('has nothing to do without requests', () => {
    assert.deepEqual(planIntake({ ...spec, promote: undefined }, undefined), { clear: [] });
  });
  it('requestsIn drops the generation', () => {
    assert.deepEqual(requestsIn({ abort: true, generation: 4 }), { abort: true });
  });
});

describe('a canary released through the MicroService plan (Istio installed)', () => {
  it('adopts the running plain Deployment with no restart, then releases a new image step by step', () => {
    const v1 = microService('orders', withHttpPort(), withReplicas(4));
    const w = world(v1, canary);
    // The service ran before its Rollout: its plain Deployment is adopted as the stable revision.
    const plain = plan({
      ms: v1,
      children: [],
      foreignRoutes: [],
      deletedByOthers: new Set(),
      rollout: undefined,
      dependents: [],
      installed: w.installed,
      now: new Date(T0).toISOString(),
    });
    for (const { object } of plain.apply) {
      const copy = structuredClone(object);
      if (copy.kind === 'Deployment') copy.status = { replicas: 4, readyReplicas: 4 };
      w.children.set(`${copy.kind}/${copy.metadata.name}`, copy);
    }
    const adopted = step(w);
    assert.equal(status(w).stableRevision, revisionOf(v1));
    assert.equal(status(w).phase, 'Healthy');
    assert.deepEqual(
      adopted.apply.filter((a) => a.object.kind === 'Deployment').map((a) => a.object.metadata.name),
      [],
      'the plain Deployment is not touched',
    );
    assert.deepEqual(deploymentNames(w), ['orders=4']);
    assert.deepEqual(vsWeights(w), ['stable:100']);

    const v2 = microService(
      'orders',
      withHttpPort(),
      withReplicas(4),
      withImage('registry.example.com/shop/orders:2.0.0'),
    );
    const r2 = revisionOf(v2);
    w.ms = v2;
    step(w); // release started: the canary's Deployment created
    step(w); // its pod Ready: step 1 (setWeight 10) done
    step(w); // at the pause
    assert.equal(status(w).phase, 'Paused');
    assert.equal(status(w).canaryRevision, r2);
    assert.deepEqual(deploymentNames(w), [`orders-${r2}=1`, 'orders=4']);
    assert.deepEqual(vsWeights(w), ['stable:90', 'canary:10']);
    const dr = child(w, 'DestinationRule/orders')?.spec.subsets as { name: string; labels: Record<string, string> }[];
    assert.deepEqual(
      dr.map((s) => `${s.name}:${s.labels['flotilla.dev/revision']}`),
      [`stable:${revisionOf(v1)}`, `canary:${r2}`],
    );
    assert.equal(w.last?.status.conditions?.find((c) => c.type === 'Ready')?.status, 'False');

    // A weight change is one write: only the VirtualService changes from step to step.
    request(w, { promote: 'step' });
    const promoted = step(w);
    assert.equal(promoted.release?.status.acceptedRequest, undefined, 'the accepted request is done');
    assert.equal(status(w).lastAction?.action, 'PromoteStep');
    step(w);
    const weighted = step(w);
    assert.deepEqual(vsWeights(w), ['stable:50', 'canary:50']);
    assert.ok(
      weighted.apply.every((a) => a.object.kind !== 'DestinationRule'),
      'the subsets do not change with the weights',
    );

    // The timed pause ends; the canary grows to full size, takes all traffic, and is the new stable.
    for (let i = 0; i < 6; i++) {
      w.now += 61_000;
      step(w);
    }
    assert.equal(status(w).stableRevision, r2);
    assert.equal(status(w).phase, 'Healthy');
    assert.deepEqual(vsWeights(w), ['stable:100']);
    assert.equal(w.last?.status.currentRevision, r2);
    assert.equal(w.last?.status.conditions?.find((c) => c.type === 'Ready')?.status, 'True');
    assert.deepEqual(deploymentNames(w), [`orders-${r2}=4`], 'the previous revision is gone after its delay');
  });

  it('aborts: all traffic back to stable, the canary scaled away, the request cleared', () => {
    const w = world(microService('orders', withHttpPort(), withReplicas(2)), canary);
    step(w);
    step(w);
    w.ms = microService('orders', withHttpPort(), withReplicas(2), withImage('registry.example.com/shop/orders:2.0.0'));
    for (let i = 0; i < 3; i++) step(w);
    assert.deepEqual(vsWeights(w), ['stable:90', 'canary:10']);
    request(w, { abort: true });
    const aborted = step(w);
    assert.equal(aborted.release?.status.acceptedRequest, undefined);
    assert.equal((w.rollout.spec as RolloutSpec).abort, undefined, 'cleared from the spec');
    step(w);
    assert.equal(status(w).phase, 'Aborted');
    assert.deepEqual(vsWeights(w), ['stable:100', 'canary:0']);
    assert.equal(w.last?.status.conditions?.find((c) => c.type === 'Degraded')?.status, 'True');
    assert.ok(!deploymentNames(w).some((d) => d.endsWith('=1')), `canary scaled away: ${deploymentNames(w)}`);
  });

  it('with autoscaling, leaves the stable replicas to the HPA and points the HPA at the promoted revision', () => {
    const w = world(microService('orders', withHttpPort(), withAutoscaling({ minReplicas: 3, maxReplicas: 9 })), {
      canary: { steps: [{ setWeight: 50 }] },
    });
    step(w);
    step(w);
    const stable = status(w).stableRevision;
    assert.equal(hpaTarget(w), `orders-${stable}`);
    w.ms = microService(
      'orders',
      withHttpPort(),
      withAutoscaling({ minReplicas: 3, maxReplicas: 9 }),
      withImage('registry.example.com/shop/orders:2.0.0'),
    );
    const r2 = revisionOf(w.ms);
    for (let i = 0; i < 8; i++) step(w);
    assert.equal(status(w).stableRevision, r2);
    assert.equal(hpaTarget(w), `orders-${r2}`);
    const promoted = w.last?.apply.find((a) => a.object.metadata.name === `orders-${r2}`);
    if (promoted)
      assert.equal((promoted.object.spec as { replicas?: number }).replicas, undefined, 'the HPA owns replicas');
    assert.equal(
      (child(w, `Deployment/orders-${r2}`)?.spec as { replicas?: number } | undefined)?.replicas,
      3,
      'no drop in capacity',
    );
  });
});

describe('a canary asking for the Gateway API with Istio installed too', () => {
  it('is routed by an HTTPRoute over per-revision Services, never by a VirtualService, before, during and after', () => {
    const w = world(microService('orders', withHttpPort(), withReplicas(2)), {
      canary: { steps: [{ setWeight: 50 }, { pause: {} }], trafficRouting: 'gatewayAPI' },
    });
    w.installed = { istio: true, gatewayAPI: true };
    type Backend = { name: string; weight?: number };
    const backends = () =>
      ((child(w, 'HTTPRoute/orders')?.spec.rules as { backendRefs: Backend[] }[] | undefined)?.[0]?.backendRefs ?? [])
        .map((b) => `${b.name}:${b.weight ?? '-'}`)
        .sort();
    const kinds = () => [...w.children.keys()].map((id) => id.split('/')[0]);
    step(w);
    step(w);
    assert.deepEqual(backends(), ['orders-stable:100']);
    w.ms = microService('orders', withHttpPort(), withReplicas(2), withImage('registry.example.com/shop/orders:2.0.0'));
    for (let i = 0; i < 3; i++) step(w);
    assert.equal(status(w).phase, 'Paused');
    assert.deepEqual(backends(), ['orders-canary:50', 'orders-stable:50']);
    assert.ok(w.children.has('Service/orders-canary') && w.children.has('Service/orders-stable'));
    request(w, { promote: 'full' });
    for (let i = 0; i < 4; i++) step(w);
    assert.equal(status(w).phase, 'Healthy');
    assert.ok(!kinds().includes('VirtualService') && !kinds().includes('DestinationRule'), kinds().join(', '));
  });
});

describe('blue-green through the MicroService plan', () => {
  it('keeps the Service on the active revision and the preview Service on the new one until promoted', () => {
    const w = world(microService('orders', withHttpPort(), withReplicas(2)), { blueGreen: {} }, false);
    step(w);
    step(w);
    const blue = status(w).stableRevision;
    w.ms = microService('orders', withHttpPort(), withReplicas(2), withImage('registry.example.com/shop/orders:2.0.0'));
    const green = revisionOf(w.ms);
    for (let i = 0; i < 3; i++) step(w);
    const selector = (name: string) =>
      (child(w, `Service/${name}`)?.spec.selector as Record<string, string> | undefined)?.['flotilla.dev/revision'];
    assert.equal(selector('orders'), blue);
    assert.equal(selector('orders-preview'), green);
    request(w, { promote: 'full' });
    step(w);
    step(w);
    assert.equal(selector('orders'), green);
    assert.equal(status(w).stableRevision, green);
  });
});

describe('releaseTraffic', () => {
  it('puts the stable revision first and names the roles', () => {
    const traffic = releaseTraffic({
      revisions: [],
      traffic: {
        kind: 'weighted',
        approximatedByReplicas: false,
        weights: [
          { revision: 'new', weight: 20 },
          { revision: 'old', weight: 80 },
        ],
      },
      scaleTarget: 'old',
      status: { stableRevision: 'old' },
      events: [],
    });
    assert.deepEqual(traffic, {
      kind: 'split',
      split: [
        { role: 'stable', revision: 'old', weight: 80 },
        { role: 'canary', revision: 'new', weight: 20 },
      ],
    });
  });
  it('routes to every pod when the split is approximated by replicas', () => {
    const traffic = releaseTraffic({
      revisions: [],
      traffic: { kind: 'weighted', approximatedByReplicas: true, weights: [{ revision: 'old', weight: 100 }] },
      scaleTarget: 'old',
      status: { stableRevision: 'old' },
      events: [],
    });
    assert.deepEqual(traffic, { kind: 'allPods' });
  });
});

describe('replicasToHold', () => {
  const deployment = (replicas?: number): KubeObject => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'orders' },
    spec: replicas === undefined ? {} : { replicas },
  });
  const type = { group: 'apps', version: 'v1', kind: 'Deployment', plural: 'deployments', namespaced: true };
  it('holds the observed replicas when an update stops declaring them (an HPA takes over)', () => {
    assert.equal(replicasToHold({ type, object: deployment(), why: 'update', observed: deployment(5) }), 5);
  });
  it('holds nothing while replicas are declared, or for a new Deployment', () => {
    assert.equal(replicasToHold({ type, object: deployment(2), why: 'update', observed: deployment(5) }), undefined);
    assert.equal(replicasToHold({ type, object: deployment(), why: 'create' }), undefined);
  });
});

describe('a rolling Rollout through the MicroService plan', () => {
  it('moves pods from the old revision to the new one, and ends with the new one alone', () => {
    const w = world(microService('orders', withHttpPort(), withReplicas(4)), {
      rolling: { maxSurge: 1, maxUnavailable: 0 },
    });
    step(w);
    step(w);
    const old = status(w).stableRevision;
    w.ms = microService('orders', withHttpPort(), withReplicas(4), withImage('registry.example.com/shop/orders:2.0.0'));
    const next = revisionOf(w.ms);
    step(w);
    assert.equal(deploymentNames(w).length, 2, 'both revisions run during the update');
    for (let i = 0; i < 12; i++) {
      w.now += 31_000;
      step(w);
    }
    assert.equal(status(w).stableRevision, next);
    assert.notEqual(next, old);
    assert.deepEqual(deploymentNames(w), [`orders-${next}=4`]);
    assert.equal(w.last?.status.conditions?.find((c) => c.type === 'Ready')?.status, 'True');
  });
});

describe('planUntilSettled', () => {
  it('carries a promotion through every step it can in one plan: past the pause, the next weight, to the next pause', () => {
    const plan = planUntilSettled({
      spec: {
        serviceRef: { name: 'orders' },
        strategy: { canary: { steps: [{ setWeight: 10 }, { pause: {} }, { setWeight: 20 }, { pause: {} }] } },
        promote: 'step',
      },
      trafficRouting: 'istio',
      status: { stableRevision: 'a', canaryRevision: 'b', currentStepIndex: 1, canaryWeight: 10, strategy: 'Canary' },
      desiredRevision: 'b',
      revisions: [
        { revision: 'a', replicas: 4, readyReplicas: 4 },
        { revision: 'b', replicas: 1, readyReplicas: 1 },
      ],
      replicas: 4,
      now: T0,
    });
    assert.equal(plan.status.currentStepIndex, 3);
    assert.equal(plan.status.phase, 'Paused');
    assert.equal(plan.status.canaryWeight, 20);
    assert.equal(plan.requestHandled, 'promote');
    assert.deepEqual(
      plan.events.map((e) => e.reason),
      ['Promoted', 'StepCompleted'],
    );
  });
});
