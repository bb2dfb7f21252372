// Test objects from builders with modifiers:
//   microService('orders', withImage('x:2'), withAutoscaling({ maxReplicas: 5 }))
// and a check of generated children against the schemas of the projects that define them.
// Only tests import this module: its schema packages are devDependencies.
import { HTTPRoute } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/HTTPRoute';
import { DestinationRule } from '@kubernetes-models/istio/networking.istio.io/v1/DestinationRule';
import { VirtualService } from '@kubernetes-models/istio/networking.istio.io/v1/VirtualService';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { Service } from 'kubernetes-models/v1/Service';
import type { MicroService, MicroServiceSpec } from '../api/microservice.ts';

export type Modifier = (ms: MicroService) => void;

type Spec = MicroServiceSpec;
type NonNull<K extends keyof Spec> = NonNullable<Spec[K]>;

/** A MicroService in namespace `shop` with uid `uid-<name>`, image `registry.example.com/shop/<name>:1.0.0`, then the modifiers in order. */
export function microService(name: string, ...modifiers: Modifier[]): MicroService {
  const ms: MicroService = {
    apiVersion: 'flotilla.dev/v1alpha1',
    kind: 'MicroService',
    metadata: { name, namespace: 'shop', uid: `uid-${name}`, generation: 1 },
    spec: { image: `registry.example.com/shop/${name}:1.0.0` },
  };
  for (const modify of modifiers) modify(ms);
  return ms;
}

export const withNamespace =
  (namespace: string): Modifier =>
  (ms) => {
    ms.metadata.namespace = namespace;
  };

export const withImage =
  (image: string): Modifier =>
  (ms) => {
    ms.spec.image = image;
  };

export const withReplicas =
  (replicas: number): Modifier =>
  (ms) => {
    ms.spec.replicas = replicas;
  };

/** Adds ports (after any already there). */
export const withPorts =
  (...ports: NonNull<'ports'>): Modifier =>
  (ms) => {
    ms.spec.ports = [...(ms.spec.ports ?? []), ...ports];
  };

/** The usual single port: `http` on 80, container port 8080. */
export const withHttpPort = (): Modifier => withPorts({ name: 'http', port: 80, targetPort: 8080 });

export const withEnv =
  (...env: NonNull<'env'>): Modifier =>
  (ms) => {
    ms.spec.env = [...(ms.spec.env ?? []), ...env];
  };

export const withResources =
  (resources: NonNull<'resources'>): Modifier =>
  (ms) => {
    ms.spec.resources = resources;
  };

export const withProbes =
  (probes: NonNull<'probes'>): Modifier =>
  (ms) => {
    ms.spec.probes = probes;
  };

export const withAutoscaling =
  (autoscaling: Partial<NonNull<'autoscaling'>> & { maxReplicas: number }): Modifier =>
  (ms) => {
    ms.spec.autoscaling = { minReplicas: 1, ...autoscaling };
  };

export const withDatabase =
  (database: Partial<NonNull<'database'>> = {}): Modifier =>
  (ms) => {
    ms.spec.database = { serverRef: 'postgres-main', ...database };
  };

/** Merges traffic settings into spec.traffic. */
export const withTraffic =
  (traffic: NonNull<'traffic'>): Modifier =>
  (ms) => {
    ms.spec.traffic = { ...ms.spec.traffic, ...traffic };
  };

export const withExpose =
  (expose: Partial<NonNull<'expose'>> = {}): Modifier =>
  (ms) => {
    ms.spec.expose = { gateway: 'istio-system/public', hosts: ['api.example.com'], ...expose };
  };

/** Sets spec fields as given (the pod surface: files, scheduling, sidecars, ...). */
export const withSpec =
  (fields: Partial<Spec>): Modifier =>
  (ms) => {
    Object.assign(ms.spec, structuredClone(fields));
  };

export const withDependsOn =
  (...names: string[]): Modifier =>
  (ms) => {
    ms.spec.dependsOn = names;
  };

/** The schema models by `apiVersion/kind`: Kubernetes' own OpenAPI, Istio's CRDs, the Gateway API's CRDs. */
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'v1/Service': Service,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'networking.istio.io/v1/DestinationRule': DestinationRule,
  'networking.istio.io/v1/VirtualService': VirtualService,
  'gateway.networking.k8s.io/v1/HTTPRoute': HTTPRoute,
};

/**
 * Throws when a child does not match the schema of its kind (types, enums, patterns, required
 * fields; not CEL rules). Returns the child, so that `validChild(buildX(ms))` reads well.
 */
export function validChild<T extends { apiVersion?: string; kind?: string }>(child: T | undefined): T {
  if (!child) throw new Error('no object was built');
  const Model = MODELS[`${child.apiVersion}/${child.kind}`];
  if (!Model) throw new Error(`no schema for ${child.apiVersion}/${child.kind}`);
  new Model(structuredClone(child) as never).validate();
  return child;
}
