// The registry of provisioners: the only place that lists them. A new kind of backing service is one
// new file implementing Provisioner, plus one line here. Their order is the order of the credentials
// hashes on the pod template, so a new one goes last (existing services keep their revision).
import type { EngineRegistry, RedisEngineRegistry } from '../database/index.ts';
import { DedicatedDatabaseProvisioner } from './dedicated-database.ts';
import { type MessagingOptions, MessagingProvisioner } from './messaging.ts';
import type { Provisioner } from './provisioner.ts';
import { RedisCacheProvisioner } from './redis-cache.ts';
import { type SharedDatabaseOptions, SharedDatabaseProvisioner } from './shared-database.ts';

export interface ProvisionerOptions extends Omit<SharedDatabaseOptions, 'engines'> {
  engines: EngineRegistry;
  cacheEngines?: RedisEngineRegistry;
  /** Makes the broker engine of a rabbitmq server (the benchmark counts its writes); the management API's by default. */
  brokerEngine?: MessagingOptions['engine'];
}

export function createProvisioners(options: ProvisionerOptions): Provisioner[] {
  const { cacheEngines, brokerEngine, ...shared } = options;
  return [
    new SharedDatabaseProvisioner(shared),
    new DedicatedDatabaseProvisioner(shared),
    new RedisCacheProvisioner({
      client: options.client,
      databaseServers: options.databaseServers,
      ...(options.namespaces ? { namespaces: options.namespaces } : {}),
      ...(cacheEngines ? { engines: cacheEngines } : {}),
      ...(options.onWrite ? { onWrite: options.onWrite } : {}),
      now: () => options.clock.now(),
    }),
    new MessagingProvisioner({
      client: options.client,
      databaseServers: options.databaseServers,
      ...(options.namespaces ? { namespaces: options.namespaces } : {}),
      ...(options.onWrite ? { onWrite: options.onWrite } : {}),
      ...(options.afterSecretCreated ? { afterSecretCreated: options.afterSecretCreated } : {}),
      ...(brokerEngine ? { engine: brokerEngine } : {}),
      now: () => options.clock.now(),
    }),
  ];
}
