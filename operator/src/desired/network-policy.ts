// The NetworkPolicy of a MicroService: its pods may call the services it dependsOn and DNS, and
// are called by the services that depend on it and, when exposed, by the gateway.
import type {
  V1NetworkPolicyEgressRule,
  V1NetworkPolicyPeer,
  V1NetworkPolicyPort,
  V1NetworkPolicySpec,
} from '@kubernetes/client-node';
import type { MicroService } from '../api/microservice.ts';
import { METRICS_PORT_NAME, type ServicePortSpec } from './deployment.ts';
import { type ChildMeta, childMeta, identityOf, selectorLabels } from './meta.ts';
import { parseGatewayRef, routedPort } from './ports.ts';

// client-node's model calls `from` `_from` (its serializer renames it); these are the wire shapes.
export interface NetworkPolicyIngressRule {
  from?: V1NetworkPolicyPeer[];
  ports?: V1NetworkPolicyPort[];
}

export interface NetworkPolicy {
  apiVersion: 'networking.k8s.io/v1';
  kind: 'NetworkPolicy';
  metadata: ChildMeta;
  spec: Omit<V1NetworkPolicySpec, 'ingress'> & { ingress: NetworkPolicyIngressRule[] };
}

/** The label every namespace carries with its own name (Kubernetes ≥ 1.22). */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

/** Where cluster DNS runs: kube-dns/CoreDNS pods in kube-system. */
export const CLUSTER_DNS: V1NetworkPolicyPeer = {
  namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: 'kube-system' } },
  podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
};

/** A mesh control plane the pods' sidecars must reach. */
export interface MeshControlPlane {
  namespace: string;
  podLabels: Record<string, string>;
  ports: number[];
}

/** Istio's istiod: sidecars fetch their configuration and certificates from it on 15012. */
export const ISTIOD: MeshControlPlane = { namespace: 'istio-system', podLabels: { app: 'istiod' }, ports: [15012] };

export interface NetworkPolicyInputs {
  /** Names of the MicroServices in the namespace whose dependsOn lists this one. */
  dependents: readonly string[];
  /** The port of the service's DatabaseServer, when it has a database: egress to it is allowed to any address. */
  databasePort?: number;
  /** The AMQP port of the service's rabbitmq DatabaseServer, when it has messaging: egress to any address. */
  brokerPort?: number;
  /** The mesh control plane, when the pods run a sidecar (ISTIOD with Istio). */
  meshControlPlane?: MeshControlPlane;
}

const inNamespace = (namespace: string): V1NetworkPolicyPeer => ({
  namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: namespace } },
});

const tcp = (port: number | string): V1NetworkPolicyPort => ({ protocol: 'TCP', port });

function buildEgress(ms: MicroService, inputs: NetworkPolicyInputs): V1NetworkPolicyEgressRule[] {
  const egress: V1NetworkPolicyEgressRule[] = [{ to: [CLUSTER_DNS], ports: [{ protocol: 'UDP', port: 53 }, tcp(53)] }];
  const dependsOn = ms.spec.dependsOn ?? [];
  if (dependsOn.length > 0) {
    egress.push({ to: dependsOn.map((dep) => ({ podSelector: { matchLabels: selectorLabels(dep) } })) });
  }
  if (inputs.databasePort !== undefined) egress.push({ ports: [tcp(inputs.databasePort)] });
  if (inputs.brokerPort !== undefined && inputs.brokerPort !== inputs.databasePort) {
    egress.push({ ports: [tcp(inputs.brokerPort)] });
  }
  const mesh = inputs.meshControlPlane;
  if (mesh) {
    egress.push({
      to: [{ ...inNamespace(mesh.namespace), podSelector: { matchLabels: { ...mesh.podLabels } } }],
      ports: mesh.ports.map(tcp),
    });
  }
  return egress;
}

function buildIngress(ms: MicroService, inputs: NetworkPolicyInputs): NetworkPolicyIngressRule[] {
  const ports = ms.spec.ports ?? [];
  if (ports.length === 0) return [];
  const ingress: NetworkPolicyIngressRule[] = [];
  const servicePorts = ports.filter((p) => p.name !== METRICS_PORT_NAME);
  const dependents = [...new Set(inputs.dependents)].sort();
  if (dependents.length > 0 && servicePorts.length > 0) {
    ingress.push({
      from: dependents.map((dep) => ({ podSelector: { matchLabels: selectorLabels(dep) } })),
      ports: servicePorts.map((p) => ({ protocol: p.protocol ?? 'TCP', port: p.name })),
    });
  }
  const expose = ms.spec.expose;
  if (expose) {
    // routedPort is defined here: the service has ports.
    const port = routedPort(ms) as ServicePortSpec;
    ingress.push({
      from: [inNamespace(parseGatewayRef(expose.gateway).namespace)],
      ports: [{ protocol: port.protocol ?? 'TCP', port: port.name }],
    });
  }
  if (ports.length > servicePorts.length) {
    // The scrape annotations invite Prometheus, wherever it runs: the metrics port is open to every namespace.
    ingress.push({ from: [{ namespaceSelector: {} }], ports: [tcp(METRICS_PORT_NAME)] });
  }
  return ingress;
}

/**
 * The NetworkPolicy. Egress: DNS, the pods of each service in dependsOn (any port), the database
 * port when there is one, the broker's AMQP port when there is one and the mesh control plane when there
 * is one; nothing else. Ingress: the
 * service's ports from the pods of its dependents, the exposed port from the gateway's namespace,
 * and the `metrics` port from anywhere; nothing else.
 */
export function buildNetworkPolicy(ms: MicroService, inputs: NetworkPolicyInputs): NetworkPolicy {
  const { name } = identityOf(ms);
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: childMeta(ms),
    spec: {
      podSelector: { matchLabels: selectorLabels(name) },
      policyTypes: ['Ingress', 'Egress'],
      ingress: buildIngress(ms, inputs),
      egress: buildEgress(ms, inputs),
    },
  };
}
