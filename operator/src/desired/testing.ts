// Test objects from builders with modifiers:
//   microService('orders', withImage('x:2'), withAutoscaling({ maxReplicas: 5 }))
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

export const withDependsOn =
  (...names: string[]): Modifier =>
  (ms) => {
    ms.spec.dependsOn = names;
  };
