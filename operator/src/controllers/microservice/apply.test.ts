// applyPlan's order of writes, with a recording client: the requests it sends, in the order the
// API server would receive them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import type { KubeClient } from '../../kube/client.ts';
import { deploymentType, type KubeObject, type ResourceType, serviceType } from '../../kube/objects.ts';
import { WriteTracker } from '../../runtime/write-tracker.ts';
import { virtualServiceType } from '../../traffic/index.ts';
import { applyPlan, portsToRestore } from './apply.ts';
import type { ChildApply, Plan } from './plan.ts';

/** A client that answers each apply after `delayMs` (Deployments slowest) and records start and end. */
function recordingClient() {
  const log: string[] = [];
  const client = {
    async apply(type: ResourceType, object: KubeObject) {
      const id = `${type.kind}/${object.metadata.name}`;
      log.push(`start ${id}`);
      await new Promise((resolve) => setTimeout(resolve, type.kind === 'Deployment' ? 1 : 20));
      log.push(`end ${id}`);
      return { ...object, metadata: { ...object.metadata, resourceVersion: '1', uid: id } };
    },
  } as unknown as KubeClient;
  return { client, log };
}

const child = (type: ResourceType, name: string): ChildApply => ({
  type,
  object: { apiVersion: 'v1', kind: type.kind, metadata: { name, namespace: 'shop' } },
  why: 'update',
});

describe('applyPlan', () => {
  it('writes the routes and Services before any Deployment (an abort takes the traffic away first)', async () => {
    const { client, log } = recordingClient();
    const plan: Plan = {
      apply: [
        child(deploymentType, 'orders-b'),
        child(virtualServiceType, 'orders'),
        child(deploymentType, 'orders-a'),
        child(serviceType, 'orders-preview'),
      ],
      delete: [],
      status: {},
      events: [],
    };
    const outcome = await applyPlan({ client, tracker: new WriteTracker(), log: pino({ level: 'silent' }) }, plan);
    assert.deepEqual(outcome.failures, []);
    const lastTrafficEnd = Math.max(
      log.indexOf('end VirtualService/orders'),
      log.indexOf('end Service/orders-preview'),
    );
    const firstDeploymentStart = Math.min(
      log.indexOf('start Deployment/orders-a'),
      log.indexOf('start Deployment/orders-b'),
    );
    assert.ok(lastTrafficEnd < firstDeploymentStart, log.join(', '));
    assert.equal(log.length, 8);
  });
});

describe('portsToRestore', () => {
  const service = (ports: object[]): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'orders', namespace: 'shop' },
    spec: { ports },
  });
  const change = (observed: object[]): ChildApply => ({
    type: serviceType,
    object: service([{ name: 'http', port: 80, targetPort: 8080 }]),
    why: 'repair',
    observed: service(observed),
  });

  it('puts back a port whose number was edited by hand, keeping ports others added', () => {
    assert.deepEqual(
      portsToRestore(
        change([
          { name: 'http', port: 81, targetPort: 8080, protocol: 'TCP' },
          { name: 'debug', port: 9999, protocol: 'TCP' },
        ]),
      ),
      [
        { name: 'http', port: 80, targetPort: 8080 },
        { name: 'debug', port: 9999, protocol: 'TCP' },
      ],
    );
  });

  it('leaves everything else to the apply: the same numbers, a targetPort edit, no Service observed', () => {
    assert.equal(portsToRestore(change([{ name: 'http', port: 80, targetPort: 9090, protocol: 'TCP' }])), undefined);
    assert.equal(portsToRestore({ ...change([]), observed: undefined }), undefined);
    assert.equal(
      portsToRestore({ ...change([]), type: deploymentType, object: { kind: 'Deployment', metadata: {} } }),
      undefined,
    );
  });
});
