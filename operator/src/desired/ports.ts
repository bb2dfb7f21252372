// Which port of a service a route sends requests to.
import type { MicroService } from '../api/microservice.ts';
import type { ServicePortSpec } from './deployment.ts';
import { InvalidSpecError, InvalidSpecReason } from './errors.ts';

/** The port routes go to: `expose.port` when named, else the first port; undefined without ports. */
export function routedPort(ms: MicroService): ServicePortSpec | undefined {
  const ports = ms.spec.ports ?? [];
  const wanted = ms.spec.expose?.port;
  if (wanted === undefined) return ports[0];
  const port = ports.find((p) => p.name === wanted);
  if (!port) {
    throw new InvalidSpecError(InvalidSpecReason.UnknownExposePort, `expose.port ${wanted} is not one of the ports`);
  }
  return port;
}

/** `istio-system/public` → `{ namespace: 'istio-system', name: 'public' }`. */
export function parseGatewayRef(ref: string): { namespace: string; name: string } {
  const [namespace, name, ...rest] = ref.split('/');
  if (!namespace || !name || rest.length > 0) throw new Error(`not a <namespace>/<name> gateway reference: ${ref}`);
  return { namespace, name };
}
