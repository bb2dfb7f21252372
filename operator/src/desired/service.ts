// The ClusterIP Service of a MicroService: each port by name, to the container port of the same name.
import type { V1Service } from '@kubernetes/client-node';
import type { MicroService } from '../api/microservice.ts';
import { childMeta, identityOf, selectorLabels } from './meta.ts';

/** The Service, or undefined for a service without ports (a Service needs at least one). */
export function buildService(ms: MicroService): V1Service | undefined {
  const ports = ms.spec.ports ?? [];
  if (ports.length === 0) return undefined;
  const { name } = identityOf(ms);
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: childMeta(ms),
    spec: {
      type: 'ClusterIP',
      selector: selectorLabels(name),
      ports: ports.map((p) => ({ name: p.name, port: p.port, targetPort: p.name, protocol: p.protocol ?? 'TCP' })),
    },
  };
}
