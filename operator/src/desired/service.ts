// The ClusterIP Service of a MicroService: each port by name, to the container port of the same name.
import type { V1Service } from '@kubernetes/client-node';
import type { MicroService } from '../api/microservice.ts';
import { childMeta, identityOf, REVISION_LABEL, selectorLabels } from './meta.ts';

export interface ServiceOptions {
  /** The Service's name, e.g. `<name>-preview` or `<name>-canary`; default the service's name. */
  name?: string;
  /** Select only the pods of this revision; default the pods of every revision. */
  revision?: string;
}

/** The Service, or undefined for a service without ports (a Service needs at least one). */
export function buildService(ms: MicroService, options: ServiceOptions = {}): V1Service | undefined {
  const ports = ms.spec.ports ?? [];
  if (ports.length === 0) return undefined;
  const { name } = identityOf(ms);
  const selector = selectorLabels(name);
  if (options.revision) selector[REVISION_LABEL] = options.revision;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: childMeta(ms, options.name),
    spec: {
      type: 'ClusterIP',
      selector,
      ports: ports.map((p) => ({ name: p.name, port: p.port, targetPort: p.name, protocol: p.protocol ?? 'TCP' })),
    },
  };
}
