// Table tests of the pure plan: what is applied (and why), deleted, reported and announced.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MicroService } from '../../api/microservice.ts';
import {
  microService,
  withAutoscaling,
  withDependsOn,
  withExpose,
  withHttpPort,
  withImage,
  withProbes,
  withReplicas,
  withSpec,
} from '../../desired/testing.ts';
import type { KubeObject } from '../../kube/objects.ts';
import type { Condition } from '../../release/conditions.ts';
import { configCondition } from './config-digests.ts';
import { type Plan, type PlanInput, plan, withApplyFailures } from './plan.ts';

const NOW = '2026-01-01T00:00:00Z';
const LATER = '2026-01-01T00:05:00Z';

function input(ms: MicroService, overrides: Partial<PlanInput> = {}): PlanInput {
  return {
    ms,
    children: [],
    foreignRoutes: [],
    deletedByOthers: new Set(),
    rollout: undefined,
    dependents: [],
    installed: { istio: false, gatewayAPI: false },
    now: NOW,
    ...overrides,
  };
}

/** The children as the API server would show them after the plan was applied, Deployment rolled out. */
function observedAfter(planned: Plan, replicas = 1): KubeObject[] {
  return planned.apply.map(({ object }) => {
    const copy = structuredClone(object);
    if (copy.kind !== 'Deployment') return copy;
    copy.metadata.generation = 1;
    (copy.spec as { replicas?: number }).replicas ??= replicas;
    copy.status = {
      observedGeneration: 1,
      replicas,
      updatedReplicas: replicas,
      readyReplicas: replicas,
      availableReplicas: replicas,
    };
    return copy;
  });
}

const conditionOf = (planned: Plan, type: string): Condition | undefined =>
  (planned.status.conditions as Condition[] | undefined)?.find((c) => c.type === type);
const applied = (planned: Plan) => planned.apply.map((a) => `${a.why} ${a.object.kind}/${a.object.metadata.name}`);

describe('plan', () => {
  it('creates every child of a new service and reports it Progressing', () => {
    const planned = plan(input(microService('orders', withHttpPort(), withAutoscaling({ maxReplicas: 4 }))));
    assert.deepEqual(applied(planned), [
      'create Deployment/orders',
      'create Service/orders',
      'create HorizontalPodAutoscaler/orders',
      'create NetworkPolicy/orders',
    ]);
    assert.deepEqual(planned.delete, []);
    assert.deepEqual(
      (planned.status.conditions as Condition[]).map((c) => [c.type, c.status, c.reason]),
      [
        ['Ready', 'False', 'Creating'],
        ['Progressing', 'True', 'Creating'],
        ['Degraded', 'False', 'AsExpected'],
        ['RoutesReady', 'False', 'NoMeshInstalled'],
      ],
    );
    assert.equal(planned.status.observedGeneration, 1);
    assert.equal(planned.status.selector, 'app.kubernetes.io/name=orders,app.kubernetes.io/instance=orders');
    assert.equal(planned.status.currentRevision, undefined);
  });

  it('writes nothing when every child is as wanted, and reports Ready with the revision', () => {
    const ms = microService('orders', withHttpPort());
    const children = observedAfter(plan(input(ms)));
    const planned = plan(input(ms, { children }));
    assert.deepEqual(planned.apply, []);
    assert.deepEqual(planned.delete, []);
    assert.deepEqual(planned.events, []);
    assert.equal(conditionOf(planned, 'Ready')?.status, 'True');
    assert.equal(conditionOf(planned, 'Progressing')?.status, 'False');
    assert.match(planned.status.currentRevision ?? '', /^[0-9a-f]{10}$/);
    assert.equal(planned.status.readyReplicas, 1);
  });

  it('tolerates what the API server and other writers add to a child', () => {
    const ms = microService('orders', withHttpPort());
    const children = observedAfter(plan(input(ms))).map((child) => ({
      ...child,
      metadata: {
        ...child.metadata,
        annotations: { ...child.metadata.annotations, 'example.com/owner': 'team' },
        labels: { ...child.metadata.labels, extra: 'x' },
      },
      spec: { ...(child.spec as object), defaultedByServer: true },
    }));
    assert.deepEqual(plan(input(ms, { children })).apply, []);
  });

  const cases: { name: string; change: (children: KubeObject[], ms: MicroService) => PlanInput; want: string[] }[] = [
    {
      name: 'a hand edit of an owned field is repaired',
      change: (children, ms) => {
        const deployment = children.find((c) => c.kind === 'Deployment') as KubeObject;
        (deployment.spec as { template: { spec: { containers: { image: string }[] } } }).template.spec.containers[0] = {
          image: 'evil:1',
        };
        return input(ms, { children });
      },
      want: ['repair Deployment/orders'],
    },
    {
      name: 'a spec change updates the child',
      change: (children, ms) => {
        withImage('registry.example.com/shop/orders:2.0.0')(ms);
        return input(ms, { children });
      },
      want: ['update Deployment/orders'],
    },
    {
      name: 'a child deleted by someone else is restored',
      change: (children, ms) =>
        input(ms, {
          children: children.filter((c) => c.kind !== 'Service'),
          deletedByOthers: new Set(['Service/orders']),
        }),
      want: ['restore Service/orders'],
    },
  ];
  for (const { name, change, want } of cases) {
    it(name, () => {
      const ms = microService('orders', withHttpPort());
      const planned = plan(change(observedAfter(plan(input(ms))), ms));
      assert.deepEqual(applied(planned), want);
    });
  }

  it('deletes the HPA once autoscaling is removed, and nothing else', () => {
    const autoscaled = microService('orders', withHttpPort(), withAutoscaling({ maxReplicas: 4 }));
    const children = observedAfter(plan(input(autoscaled)), 2);
    const planned = plan(input(microService('orders', withHttpPort()), { children }));
    assert.deepEqual(
      planned.delete.map((c) => `${c.kind}/${c.metadata.name}`),
      ['HorizontalPodAutoscaler/orders'],
    );
    assert.deepEqual(applied(planned), ['update Deployment/orders'], 'replicas are Flotilla’s again');
  });

  it('an invalid spec writes and deletes nothing and reports Degraded with the reason', () => {
    const valid = microService('orders', withHttpPort(), withAutoscaling({ maxReplicas: 4 }));
    const children = observedAfter(plan(input(valid)), 2);
    const invalid = microService(
      'orders',
      withHttpPort(),
      withProbes({ readiness: { httpGet: { path: '/', port: 'admin' } } }),
    );
    const planned = plan(input(invalid, { children }));
    assert.deepEqual(planned.apply, []);
    assert.deepEqual(planned.delete, [], 'the HPA is not deleted either');
    const degraded = conditionOf(planned, 'Degraded');
    assert.equal(degraded?.status, 'True');
    assert.equal(degraded?.reason, 'UnknownProbePort');
    assert.equal(conditionOf(planned, 'Ready')?.reason, 'InvalidSpec');
    assert.deepEqual(
      planned.events.map((e) => [e.type, e.reason]),
      [['Warning', 'InvalidSpec']],
    );
    assert.equal(planned.status.replicas, 2, 'what runs is still reported');
  });

  it('with Istio, plans a DestinationRule and a VirtualService and reports RoutesReady', () => {
    const ms = microService('orders', withHttpPort(), withExpose());
    const planned = plan(input(ms, { installed: { istio: true, gatewayAPI: true } }));
    assert.ok(applied(planned).includes('create VirtualService/orders'));
    assert.ok(applied(planned).includes('create DestinationRule/orders'));
    assert.equal(conditionOf(planned, 'RoutesReady')?.status, 'True');
    assert.equal(planned.status.url, 'http://api.example.com/');
  });

  it('does not overwrite a VirtualService it did not create, and says so', () => {
    const ms = microService('orders', withHttpPort());
    const planned = plan(
      input(ms, { installed: { istio: true, gatewayAPI: false }, foreignRoutes: ['VirtualService/orders'] }),
    );
    assert.ok(!applied(planned).includes('create VirtualService/orders'));
    assert.ok(applied(planned).includes('create DestinationRule/orders'));
    const routes = conditionOf(planned, 'RoutesReady');
    assert.equal(routes?.status, 'False');
    assert.equal(routes?.reason, 'RouteNotOwned');
    assert.match(routes?.message ?? '', /VirtualService\/orders/);
    assert.deepEqual(
      planned.events.map((e) => [e.type, e.reason]),
      [['Warning', 'RouteNotOwned']],
    );
  });

  it('with the Gateway API only, plans an HTTPRoute', () => {
    const ms = microService('orders', withHttpPort(), withExpose());
    const planned = plan(
      input(ms, { installed: { istio: false, gatewayAPI: true }, gatewayAPI: { httpRouteRetry: true } }),
    );
    assert.ok(applied(planned).includes('create HTTPRoute/orders'));
  });

  it('lets the dependents in through the NetworkPolicy', () => {
    const ms = microService('payments', withHttpPort());
    const planned = plan(input(ms, { dependents: ['orders'] }));
    const policy = planned.apply.find((a) => a.object.kind === 'NetworkPolicy')?.object as KubeObject;
    assert.match(JSON.stringify(policy.spec), /"app.kubernetes.io\/name":"orders"/);
    const orders = plan(input(microService('orders', withHttpPort(), withDependsOn('payments'))));
    const egress = orders.apply.find((a) => a.object.kind === 'NetworkPolicy')?.object as KubeObject;
    assert.match(JSON.stringify((egress.spec as { egress: unknown }).egress), /payments/);
  });

  it('keeps lastTransitionTime while a condition does not flip, and moves it when it does', () => {
    const ms = microService('orders', withHttpPort());
    const first = plan(input(ms));
    const progressing = plan(input({ ...ms, status: first.status }, { now: LATER }));
    assert.equal(conditionOf(progressing, 'Ready')?.lastTransitionTime, NOW);
    const ready = plan(input({ ...ms, status: first.status }, { children: observedAfter(first), now: LATER }));
    assert.equal(conditionOf(ready, 'Ready')?.lastTransitionTime, LATER);
    assert.equal(conditionOf(ready, 'Degraded')?.lastTransitionTime, NOW);
  });

  it('keeps conditions it does not manage (DatabaseReady)', () => {
    const database = {
      type: 'DatabaseReady',
      status: 'True',
      reason: 'Provisioned',
      message: 'ok',
      lastTransitionTime: NOW,
    };
    const ms = { ...microService('orders'), status: { conditions: [database] } } as MicroService;
    assert.deepEqual(conditionOf(plan(input(ms)), 'DatabaseReady'), database);
  });

  it('withApplyFailures marks Degraded with ApplyFailed', () => {
    const planned = plan(input(microService('orders', withHttpPort())));
    const status = withApplyFailures(planned.status, ['Service/orders: 422 Invalid'], LATER);
    const degraded = (status.conditions as Condition[]).find((c) => c.type === 'Degraded');
    assert.equal(degraded?.status, 'True');
    assert.equal(degraded?.reason, 'ApplyFailed');
    assert.equal(degraded?.lastTransitionTime, LATER);
    assert.equal(withApplyFailures(planned.status, [], LATER), planned.status);
  });
});

describe('plan: the disruption budget and config', () => {
  it('plans a PodDisruptionBudget for two replicas, repairs a hand edit and deletes it at one replica', () => {
    const two = microService('orders', withHttpPort(), withReplicas(2));
    const created = plan(input(two));
    assert.ok(applied(created).includes('create PodDisruptionBudget/orders'));
    const observed = observedAfter(created, 2);
    const edited = observed.map((child) =>
      child.kind === 'PodDisruptionBudget'
        ? { ...child, spec: { ...(child.spec as object), maxUnavailable: 0 } }
        : child,
    );
    assert.deepEqual(applied(plan(input(two, { children: edited }))), ['repair PodDisruptionBudget/orders']);
    const one = microService('orders', withHttpPort(), withReplicas(1));
    const shrunk = plan(input(one, { children: observed }));
    assert.deepEqual(
      shrunk.delete.map((child) => `${child.kind}/${child.metadata.name}`),
      ['PodDisruptionBudget/orders'],
    );
  });

  it('puts the config hash in the pod template, so that new config is a new revision', () => {
    const ms = microService('orders', withHttpPort());
    const templateOf = (hash: string) => {
      const planned = plan(input(ms, { config: { hash, condition: configCondition([]) } }));
      const deployment = planned.apply.find((a) => a.object.kind === 'Deployment')?.object;
      assert.ok(deployment, 'a Deployment is planned');
      return (deployment.spec as { template: { metadata: { annotations?: Record<string, string> } } }).template;
    };
    assert.equal(templateOf('aaa').metadata.annotations?.['flotilla.dev/config-hash'], 'aaa');
    assert.notDeepEqual(templateOf('aaa'), templateOf('bbb'));
  });

  it('reports ConfigReady False with ConfigNotFound and a Warning Event, and still writes the children', () => {
    const ms = microService('orders', withHttpPort());
    const planned = plan(input(ms, { config: { condition: configCondition(['Secret/orders-keys']) } }));
    const condition = conditionOf(planned, 'ConfigReady');
    assert.deepEqual([condition?.status, condition?.reason], ['False', 'ConfigNotFound']);
    assert.deepEqual(
      planned.events.map((e) => `${e.type} ${e.reason}`),
      ['Warning ConfigNotFound'],
    );
    assert.ok(applied(planned).includes('create Deployment/orders'));
  });
});

describe('plan: tracing with Istio', () => {
  it('plans the Telemetry of a traced service while its kind is served, and deletes it once tracing is off', () => {
    const traced = microService('orders', withHttpPort(), withSpec({ observability: { tracing: { sampling: 10 } } }));
    assert.ok(!applied(plan(input(traced))).some((a) => a.includes('Telemetry')), 'none without the Telemetry kind');
    const created = plan(input(traced, { telemetryServed: true }));
    assert.ok(applied(created).includes('create Telemetry/orders-tracing'));
    const untraced = microService('orders', withHttpPort());
    const after = plan(input(untraced, { telemetryServed: true, children: observedAfter(created) }));
    assert.deepEqual(
      after.delete.map((c) => `${c.kind}/${c.metadata.name}`),
      ['Telemetry/orders-tracing'],
    );
  });
});

describe('plan with a dedicated database', () => {
  const dedicated = microService('orders', withHttpPort(), (ms) => {
    ms.spec.database = { instance: 'dedicated', engine: 'mysql', storage: '2Gi' };
  });

  it('plans the StatefulSet, Service and NetworkPolicy orders-db of a dedicated database', () => {
    const planned = plan(input(dedicated, { databasePort: 3306 }));
    const ids = planned.apply.map((a) => `${a.object.kind}/${a.object.metadata.name}`);
    for (const id of ['StatefulSet/orders-db', 'Service/orders-db', 'NetworkPolicy/orders-db']) {
      assert.ok(ids.includes(id), `${id} among ${ids.join(', ')}`);
    }
    assert.equal(planned.apply.find((a) => a.object.kind === 'StatefulSet')?.type.plural, 'statefulsets');
    const policy = planned.apply.find((a) => a.object.kind === 'NetworkPolicy' && a.object.metadata.name === 'orders')
      ?.object as KubeObject & { spec: { egress: { ports?: { port?: unknown }[] }[] } };
    assert.ok(
      policy.spec.egress.some((rule) => rule.ports?.some((p) => p.port === 3306)),
      'egress to the database',
    );
  });

  it('plans none of them for a shared database, and deletes them when they are no longer wanted', () => {
    const shared = microService('orders', withHttpPort(), (ms) => {
      ms.spec.database = { serverRef: 'mysql-main' };
    });
    const withDedicated = plan(input(dedicated));
    const leftover = withDedicated.apply
      .filter((a) => a.object.metadata.name === 'orders-db')
      .map((a) => ({ ...a.object, metadata: { ...a.object.metadata } }) as KubeObject);
    const planned = plan(input(shared, { children: leftover }));
    assert.deepEqual(
      planned.apply.filter((a) => a.object.metadata.name === 'orders-db'),
      [],
    );
    assert.deepEqual(planned.delete.map((d) => `${d.kind}/${d.metadata.name}`).sort(), [
      'NetworkPolicy/orders-db',
      'Service/orders-db',
      'StatefulSet/orders-db',
    ]);
  });
});
