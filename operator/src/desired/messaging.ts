// The messaging of a MicroService (spec.messaging): the Secret `<name>-mq` that holds its broker credentials,
// and the environment variable that hands them to the service's container. Pure.
import type { V1EnvVar } from '@kubernetes/client-node';
import type { MicroService, MicroServiceSpec } from '../api/microservice.ts';
import { type BrokerCredentials, buildBrokerSecretData } from '../database/broker-user.ts';
import { encodeSecretData } from '../provisioning/secrets.ts';
import { childMeta, identityOf } from './meta.ts';

export const AMQP_URL_ENV = 'AMQP_URL';

/** The Secret that holds the broker credentials of a service. */
export function messagingSecretName(name: string): string {
  return `${name}-mq`;
}

/** AMQP_URL from the `<name>-mq` Secret when the service has messaging, unless the user's env sets it. */
export function buildMessagingEnv(name: string, spec: MicroServiceSpec, userEnv: readonly V1EnvVar[] = []): V1EnvVar[] {
  if (!spec.messaging || userEnv.some((e) => e.name === AMQP_URL_ENV)) return [];
  return [{ name: AMQP_URL_ENV, valueFrom: { secretKeyRef: { name: messagingSecretName(name), key: 'AMQP_URL' } } }];
}

/** The Secret `<name>-mq`, owned by the MicroService: keys AMQP_URL, host, port, vhost, username, password. */
export function buildMessagingSecret(ms: MicroService, credentials: BrokerCredentials) {
  const { name } = identityOf(ms);
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: childMeta(ms, messagingSecretName(name)),
    type: 'Opaque',
    data: encodeSecretData(buildBrokerSecretData(credentials)),
  };
}
