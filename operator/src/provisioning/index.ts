// Everything a service gets outside Kubernetes, behind one Provisioner interface (provisioner.ts) and
// one registry (registry.ts).
export * from './database-condition.ts';
export * from './dedicated-database.ts';
export { MESSAGING_FINALIZER, MESSAGING_READY, MessagingProvisioner, MessagingReason } from './messaging.ts';
export * from './provisioner.ts';
export * from './reasons.ts';
export { CACHE_FINALIZER, CACHE_READY, CacheReason, RedisCacheProvisioner } from './redis-cache.ts';
export * from './registry.ts';
export { ProvisionFailure } from './secrets.ts';
export * from './shared-database.ts';
export * from './tenancy.ts';
