// The foundation: the real cluster runs the control loops every later test relies on.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import {
  ApiextensionsV1Api,
  AppsV1Api,
  AutoscalingV2Api,
  CoreV1Api,
  CustomObjectsApi,
  NetworkingV1Api,
  type V1Pod,
} from '@kubernetes/client-node';
import { connectToCluster, type TestCluster } from '../support/cluster.ts';
import { eventually } from '../support/eventually.ts';

const namespace = 'it-cluster';
let cluster: TestCluster;
let core: CoreV1Api;
let apps: AppsV1Api;

function podSpec(labels: Record<string, string>) {
  return {
    selector: { matchLabels: labels },
    template: {
      metadata: { labels },
      spec: { containers: [{ name: 'app', image: 'registry.example.com/app:1' }] },
    },
  };
}

async function podsWithLabel(selector: string): Promise<V1Pod[]> {
  return (await core.listNamespacedPod({ namespace, labelSelector: selector })).items;
}

before(async () => {
  cluster = await connectToCluster();
  core = cluster.kubeConfig.makeApiClient(CoreV1Api);
  apps = cluster.kubeConfig.makeApiClient(AppsV1Api);
  await core.deleteNamespace({ name: namespace }).catch(() => undefined);
  await eventually('the old test namespace to be gone', async () => {
    const gone = await core.readNamespace({ name: namespace }).then(
      () => false,
      () => true,
    );
    assert.ok(gone);
  });
  await core.createNamespace({ body: { metadata: { name: namespace } } });
});

after(async () => {
  await core?.deleteNamespace({ name: namespace }).catch(() => undefined);
});

describe('the local cluster', () => {
  test('a Deployment gets a ReplicaSet and Ready pods on kwok nodes', async () => {
    await apps.createNamespacedDeployment({
      namespace,
      body: { metadata: { name: 'web' }, spec: { replicas: 2, ...podSpec({ app: 'web' }) } },
    });
    await eventually('the Deployment to have 2 ready replicas', async () => {
      const deployment = await apps.readNamespacedDeployment({ name: 'web', namespace });
      assert.equal(deployment.status?.readyReplicas, 2);
    });
    const replicaSets = await apps.listNamespacedReplicaSet({ namespace, labelSelector: 'app=web' });
    assert.equal(replicaSets.items.length, 1);
    assert.equal(replicaSets.items[0]?.metadata?.ownerReferences?.[0]?.name, 'web');
    const pods = await podsWithLabel('app=web');
    assert.equal(pods.length, 2);
    const nodes = (await core.listNode()).items.map((n) => n.metadata?.name);
    for (const pod of pods) {
      assert.ok(nodes.includes(pod.spec?.nodeName), `pod ${pod.metadata?.name} is on a kwok node`);
      assert.equal(pod.status?.phase, 'Running');
    }
  });

  test('deleting the Deployment garbage-collects its ReplicaSet and pods', async () => {
    await apps.deleteNamespacedDeployment({ name: 'web', namespace, propagationPolicy: 'Background' });
    await eventually('the ReplicaSet and pods to be collected', async () => {
      const replicaSets = await apps.listNamespacedReplicaSet({ namespace, labelSelector: 'app=web' });
      assert.equal(replicaSets.items.length, 0);
      assert.equal((await podsWithLabel('app=web')).length, 0);
    });
  });

  test('an autoscaling/v2 HPA and a NetworkPolicy are accepted', async () => {
    const hpa = await cluster.kubeConfig.makeApiClient(AutoscalingV2Api).createNamespacedHorizontalPodAutoscaler({
      namespace,
      body: {
        metadata: { name: 'web' },
        spec: {
          scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
          minReplicas: 2,
          maxReplicas: 5,
          metrics: [
            { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } },
          ],
        },
      },
    });
    assert.equal(hpa.spec?.maxReplicas, 5);
    const policy = await cluster.kubeConfig.makeApiClient(NetworkingV1Api).createNamespacedNetworkPolicy({
      namespace,
      body: {
        metadata: { name: 'web' },
        spec: { podSelector: { matchLabels: { app: 'web' } }, policyTypes: ['Egress'], egress: [] },
      },
    });
    assert.deepEqual(policy.spec?.policyTypes, ['Egress']);
  });

  test('a CRD with a CEL rule rejects an invalid object with the rule’s message', async () => {
    const extensions = cluster.kubeConfig.makeApiClient(ApiextensionsV1Api);
    const crdName = 'widgets.cluster-test.flotilla.dev';
    await extensions.deleteCustomResourceDefinition({ name: crdName }).catch(() => undefined);
    await extensions.createCustomResourceDefinition({
      body: {
        metadata: { name: crdName },
        spec: {
          group: 'cluster-test.flotilla.dev',
          scope: 'Namespaced',
          names: { plural: 'widgets', singular: 'widget', kind: 'Widget' },
          versions: [
            {
              name: 'v1',
              served: true,
              storage: true,
              schema: {
                openAPIV3Schema: {
                  type: 'object',
                  properties: {
                    spec: {
                      type: 'object',
                      properties: { min: { type: 'integer' }, max: { type: 'integer' } },
                      x_kubernetes_validations: [{ rule: 'self.min <= self.max', message: 'min must not exceed max' }],
                    },
                  },
                },
              },
            },
          ],
        },
      },
    });
    try {
      const objects = cluster.kubeConfig.makeApiClient(CustomObjectsApi);
      const create = (min: number, max: number, name: string) =>
        objects.createNamespacedCustomObject({
          group: 'cluster-test.flotilla.dev',
          version: 'v1',
          namespace,
          plural: 'widgets',
          body: { apiVersion: 'cluster-test.flotilla.dev/v1', kind: 'Widget', metadata: { name }, spec: { min, max } },
        });
      await eventually('the CRD to be served', async () => {
        await create(1, 2, 'good');
      });
      await assert.rejects(create(3, 2, 'bad'), (error: Error) => {
        assert.match(error.message, /min must not exceed max/);
        return true;
      });
    } finally {
      await extensions.deleteCustomResourceDefinition({ name: crdName }).catch(() => undefined);
    }
  });

  test('a pod labelled flotilla.dev/simulate=not-ready runs but never becomes Ready', async () => {
    await apps.createNamespacedDeployment({
      namespace,
      body: {
        metadata: { name: 'stuck' },
        spec: { replicas: 1, ...podSpec({ app: 'stuck', 'flotilla.dev/simulate': 'not-ready' }) },
      },
    });
    await eventually('the pod to be Running', async () => {
      const [pod] = await podsWithLabel('app=stuck');
      assert.equal(pod?.status?.phase, 'Running');
    });
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const [pod] = await podsWithLabel('app=stuck');
    assert.equal(pod?.status?.phase, 'Running');
    const ready = pod?.status?.conditions?.find((c) => c.type === 'Ready');
    assert.equal(ready?.status, 'False');
    const deployment = await apps.readNamespacedDeployment({ name: 'stuck', namespace });
    assert.equal(deployment.status?.readyReplicas ?? 0, 0);
  });

  test('a pod labelled flotilla.dev/simulate=crash fails in CrashLoopBackOff', async () => {
    await apps.createNamespacedDeployment({
      namespace,
      body: {
        metadata: { name: 'crashy' },
        spec: { replicas: 1, ...podSpec({ app: 'crashy', 'flotilla.dev/simulate': 'crash' }) },
      },
    });
    await eventually('the container to be crash-looping', async () => {
      const [pod] = await podsWithLabel('app=crashy');
      const container = pod?.status?.containerStatuses?.[0];
      assert.equal(container?.state?.waiting?.reason, 'CrashLoopBackOff');
      assert.equal(container?.lastState?.terminated?.exitCode, 1);
      assert.equal(container?.ready, false);
    });
  });

  test('`npm run cluster -- status` tells what runs and where the kubeconfig is', () => {
    const output = execFileSync(process.execPath, ['e2e/cluster/cli.ts', 'status'], { encoding: 'utf8' });
    assert.match(output, /running/);
    assert.match(output, new RegExp(`kubeconfig: ${cluster.kubeconfigPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    assert.match(output, /Kubernetes: v1\.35\.\d+/);
    assert.match(output, /Ready nodes: [2-9]/);
  });
});
