import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { childMeta } from './meta.ts';
import { buildNetworkPolicy, ISTIOD, type NetworkPolicy, type NetworkPolicyInputs } from './network-policy.ts';
import {
  type Modifier,
  microService,
  validChild,
  withDatabase,
  withDependsOn,
  withExpose,
  withHttpPort,
  withPorts,
} from './testing.ts';

const dns = {
  to: [
    {
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
      podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
    },
  ],
  ports: [
    { protocol: 'UDP', port: 53 },
    { protocol: 'TCP', port: 53 },
  ],
};
const pods = (name: string) => ({
  podSelector: { matchLabels: { 'app.kubernetes.io/name': name, 'app.kubernetes.io/instance': name } },
});
const namespace = (name: string) => ({ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': name } } });
const http = { protocol: 'TCP', port: 'http' };

describe('buildNetworkPolicy', () => {
  it('selects the pods of the service and governs both directions', () => {
    const np = buildNetworkPolicy(microService('orders'), { dependents: [] });
    assert.equal(np.apiVersion, 'networking.k8s.io/v1');
    assert.equal(np.kind, 'NetworkPolicy');
    assert.deepEqual(np.metadata, childMeta(microService('orders')));
    assert.deepEqual(np.spec.podSelector, pods('orders').podSelector);
    assert.deepEqual(np.spec.policyTypes, ['Ingress', 'Egress']);
  });

  const cases: {
    name: string;
    modifiers: Modifier[];
    inputs?: Partial<NetworkPolicyInputs>;
    ingress: NetworkPolicy['spec']['ingress'];
    egress: NetworkPolicy['spec']['egress'];
  }[] = [
    {
      name: 'messaging: egress to the broker’s AMQP port, beside the database’s',
      modifiers: [withHttpPort()],
      inputs: { brokerPort: 5672, databasePort: 5432 },
      ingress: [],
      egress: [dns, { ports: [{ protocol: 'TCP', port: 5432 }] }, { ports: [{ protocol: 'TCP', port: 5672 }] }],
    },
    {
      name: 'messaging and a database on one port: one rule',
      modifiers: [withHttpPort()],
      inputs: { brokerPort: 5432, databasePort: 5432 },
      ingress: [],
      egress: [dns, { ports: [{ protocol: 'TCP', port: 5432 }] }],
    },
    {
      name: 'an isolated service: DNS out, nothing in',
      modifiers: [withHttpPort()],
      ingress: [],
      egress: [dns],
    },
    {
      name: 'dependsOn: egress to the pods of each named service, on any port',
      modifiers: [withHttpPort(), withDependsOn('payments', 'inventory')],
      ingress: [],
      egress: [dns, { to: [pods('payments'), pods('inventory')] }],
    },
    {
      name: 'dependents: ingress from their pods to the service ports, sorted and deduplicated',
      modifiers: [withHttpPort()],
      inputs: { dependents: ['orders', 'cart', 'orders'] },
      ingress: [{ from: [pods('cart'), pods('orders')], ports: [http] }],
      egress: [dns],
    },
    {
      name: 'dependents of a service without ports: nothing to let in',
      modifiers: [],
      inputs: { dependents: ['orders'] },
      ingress: [],
      egress: [dns],
    },
    {
      name: 'expose: ingress from the gateway namespace to the routed port',
      modifiers: [withHttpPort(), withPorts({ name: 'grpc', port: 9000 }), withExpose({ port: 'grpc' })],
      ingress: [{ from: [namespace('istio-system')], ports: [{ protocol: 'TCP', port: 'grpc' }] }],
      egress: [dns],
    },
    {
      name: 'expose without expose.port: the first port',
      modifiers: [withHttpPort(), withExpose({ gateway: 'gateways/public' })],
      ingress: [{ from: [namespace('gateways')], ports: [http] }],
      egress: [dns],
    },
    {
      name: 'a metrics port: open to every namespace, and not part of the dependents rule',
      modifiers: [withHttpPort(), withPorts({ name: 'metrics', port: 9090 })],
      inputs: { dependents: ['cart'] },
      ingress: [
        { from: [pods('cart')], ports: [http] },
        { from: [{ namespaceSelector: {} }], ports: [{ protocol: 'TCP', port: 'metrics' }] },
      ],
      egress: [dns],
    },
    {
      name: 'a database: egress on the server port to any address',
      modifiers: [withHttpPort(), withDatabase()],
      inputs: { databasePort: 5432 },
      ingress: [],
      egress: [dns, { ports: [{ protocol: 'TCP', port: 5432 }] }],
    },
    {
      name: 'Istio: egress to istiod for the sidecar',
      modifiers: [withHttpPort()],
      inputs: { meshControlPlane: ISTIOD },
      ingress: [],
      egress: [
        dns,
        {
          to: [{ ...namespace('istio-system'), podSelector: { matchLabels: { app: 'istiod' } } }],
          ports: [{ protocol: 'TCP', port: 15012 }],
        },
      ],
    },
    {
      name: 'everything at once, in a stable order',
      modifiers: [withHttpPort(), withDependsOn('payments'), withExpose(), withDatabase()],
      inputs: { dependents: ['cart'], databasePort: 3306, meshControlPlane: ISTIOD },
      ingress: [
        { from: [pods('cart')], ports: [http] },
        { from: [namespace('istio-system')], ports: [http] },
      ],
      egress: [
        dns,
        { to: [pods('payments')] },
        { ports: [{ protocol: 'TCP', port: 3306 }] },
        {
          to: [{ ...namespace('istio-system'), podSelector: { matchLabels: { app: 'istiod' } } }],
          ports: [{ protocol: 'TCP', port: 15012 }],
        },
      ],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const np = validChild(
        buildNetworkPolicy(microService('orders', ...c.modifiers), { dependents: [], ...c.inputs }),
      );
      assert.deepEqual(np.spec.ingress, c.ingress);
      assert.deepEqual(np.spec.egress, c.egress);
    });
  }
});
