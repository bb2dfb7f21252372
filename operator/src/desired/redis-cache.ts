// The cache of a MicroService (spec.cache): the Secret `<name>-cache` that holds its Redis credentials, and
// the environment variables that hand them to the service's container. Pure.
import type { V1EnvVar } from '@kubernetes/client-node';
import type { MicroService, MicroServiceSpec } from '../api/microservice.ts';
import { buildCacheSecretData, type CacheCredentials } from '../database/cache-user.ts';
import { type ChildMeta, childMeta, identityOf } from './meta.ts';

export const REDIS_URL_ENV = 'REDIS_URL';
export const REDIS_KEY_PREFIX_ENV = 'REDIS_KEY_PREFIX';

/** The Secret that holds the cache credentials of a service. */
export function cacheSecretName(name: string): string {
  return `${name}-cache`;
}

/**
 * REDIS_URL and REDIS_KEY_PREFIX from the `<name>-cache` Secret when the service has a cache, each unless
 * the user's env already sets it. Append to the container's env after the user's.
 */
export function buildCacheEnv(name: string, spec: MicroServiceSpec, userEnv: readonly V1EnvVar[] = []): V1EnvVar[] {
  if (!spec.cache) return [];
  const wanted: [string, string][] = [
    [REDIS_URL_ENV, 'REDIS_URL'],
    [REDIS_KEY_PREFIX_ENV, 'keyPrefix'],
  ];
  return wanted
    .filter(([env]) => !userEnv.some((e) => e.name === env))
    .map(([env, key]) => ({ name: env, valueFrom: { secretKeyRef: { name: cacheSecretName(name), key } } }));
}

export interface CacheSecret {
  apiVersion: 'v1';
  kind: 'Secret';
  metadata: ChildMeta;
  type: 'Opaque';
  /** base64, as the API stores it. */
  data: Record<string, string>;
}

/** The Secret `<name>-cache`, owned by the MicroService: keys REDIS_URL, host, port, username, password, keyPrefix. */
export function buildCacheSecret(ms: MicroService, credentials: CacheCredentials): CacheSecret {
  const { name } = identityOf(ms);
  const data = buildCacheSecretData(credentials);
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: childMeta(ms, cacheSecretName(name)),
    type: 'Opaque',
    data: Object.fromEntries(Object.entries(data).map(([key, value]) => [key, Buffer.from(value).toString('base64')])),
  };
}
