import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DatabaseServer } from '../../api/databaseserver.ts';
import type { MicroService } from '../../api/microservice.ts';
import { countServices } from './controller.ts';

const server = (spec: Partial<DatabaseServer['spec']> = {}): DatabaseServer => ({
  apiVersion: 'flotilla.dev/v1alpha1',
  kind: 'DatabaseServer',
  metadata: { name: 'pg-main' },
  spec: {
    engine: 'postgres',
    host: 'pg',
    port: 5432,
    adminSecretRef: { namespace: 'ops', name: 'pg-admin' },
    ...spec,
  },
});

const service = (namespace: string, name: string, spec: Partial<MicroService['spec']>): MicroService =>
  ({ metadata: { namespace, name }, spec: { image: 'x:1', ...spec } }) as MicroService;

describe('countServices', () => {
  const services = [
    service('shop', 'orders', { database: { serverRef: 'pg-main' } }),
    service('shop', 'carts', { cache: { serverRef: 'pg-main' } }),
    service('evil', 'thief', { database: { serverRef: 'pg-main', name: 'legacy_orders' } }),
    service('shop', 'users', { database: { serverRef: 'other' } }),
    service('shop', 'own', { database: { instance: 'dedicated', engine: 'postgres' } }),
  ];
  const labels = (namespace: string): Record<string, string> => (namespace === 'shop' ? { team: 'shop' } : {});

  it('counts every service naming the server when all namespaces are admitted', () => {
    assert.deepEqual(countServices(server(), services, labels), { services: 3, refusedServices: 0 });
  });

  it('splits admitted and refused services by allowedNamespaces', () => {
    const selecting = server({ allowedNamespaces: { from: 'Selector', selector: { matchLabels: { team: 'shop' } } } });
    assert.deepEqual(countServices(selecting, services, labels), { services: 2, refusedServices: 1 });
    const same = server({ allowedNamespaces: { from: 'Same' } });
    assert.deepEqual(countServices(same, services, labels), { services: 0, refusedServices: 3 });
  });
});
