// Every child of every shop sample, built with each router and checked against its kind's schema.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { API_VERSION } from '../api/common.ts';
import { readManifestDir } from '../api/manifests.ts';
import type { MicroService } from '../api/microservice.ts';
import { buildRoutes, type TrafficRouter } from '../traffic/index.ts';
import { buildDeployment } from './deployment.ts';
import { buildHorizontalPodAutoscaler } from './hpa.ts';
import { buildNetworkPolicy, ISTIOD } from './network-policy.ts';
import { buildPodDisruptionBudget } from './pdb.ts';
import { buildService } from './service.ts';
import { validChild } from './testing.ts';

const samplesDir = fileURLToPath(new URL('../../../samples/', import.meta.url));
const manifests = readManifestDir(samplesDir).map(({ manifest }) => manifest);
const services = manifests
  .filter((m) => m.apiVersion === API_VERSION && m.kind === 'MicroService')
  .map((m) => {
    const ms = structuredClone(m) as unknown as MicroService;
    ms.metadata.uid = `uid-${ms.metadata.name}`;
    return ms;
  });
const serverPorts = new Map(
  manifests
    .filter((m) => m.apiVersion === API_VERSION && m.kind === 'DatabaseServer')
    .map((m) => [m.metadata.name, (m as unknown as { spec: { port: number } }).spec.port]),
);

describe('the shop samples', () => {
  it('are there to build from', () => {
    assert.ok(services.length >= 4, `found ${services.length} MicroServices in samples/`);
  });

  for (const ms of services) {
    const name = ms.metadata.name as string;
    for (const router of ['istio', 'gatewayAPI', 'none'] as TrafficRouter[]) {
      it(`${name} with router ${router}: every child matches its schema`, () => {
        const dependents = services
          .filter((other) => other.spec.dependsOn?.includes(name))
          .map((other) => other.metadata.name as string);
        const serverRef = ms.spec.database?.serverRef;
        const databasePort = serverRef ? serverPorts.get(serverRef) : undefined;
        assert.ok(!ms.spec.database || databasePort, `the DatabaseServer of ${name} is among the samples`);
        const routes = buildRoutes(ms, router, { gatewayAPI: { httpRouteRetry: true } });
        const children = [
          buildDeployment(ms),
          buildService(ms),
          buildHorizontalPodAutoscaler(ms),
          buildPodDisruptionBudget(ms),
          buildNetworkPolicy(ms, {
            dependents,
            ...(databasePort ? { databasePort } : {}),
            ...(router === 'istio' ? { meshControlPlane: ISTIOD } : {}),
          }),
          ...routes.objects,
        ].filter((child) => child !== undefined);
        for (const child of children) {
          validChild(child);
          assert.equal(child.metadata?.ownerReferences?.[0]?.uid, `uid-${name}`, `${child.kind} is owned`);
        }
        // Without a router only a service with ports misses its routes; a worker (notifier) needs none.
        const missesRoutes = router === 'none' && (ms.spec.ports ?? []).length > 0;
        assert.equal(routes.condition.status, missesRoutes ? 'False' : 'True');
      });
    }
  }
});
