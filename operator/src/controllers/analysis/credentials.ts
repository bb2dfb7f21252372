// What a measurement needs from Secrets: the values of secret arguments and the provider's
// credentials, read at measurement time and never stored, logged or shown.

import type { Credentials } from '../../analysis/providers/provider.ts';
import type { AnalysisArg, Metric } from '../../api/analysis.ts';
import type { KubeClient } from '../../kube/client.ts';
import { classifyError } from '../../kube/errors.ts';
import { secretType } from '../../kube/objects.ts';

export class SecretReadError extends Error {}

type SecretReader = (name: string, key: string) => Promise<string>;

/** Reads keys of Secrets in `namespace`, each Secret once per measurement round. */
export function secretReader(client: KubeClient, namespace: string): SecretReader {
  const secrets = new Map<string, Promise<Record<string, string>>>();
  const load = async (name: string): Promise<Record<string, string>> => {
    try {
      const secret = await client.get(secretType, name, namespace);
      return ((secret as { data?: Record<string, string> }).data ?? {}) as Record<string, string>;
    } catch (error) {
      const kind = classifyError(error);
      if (kind === 'notFound') throw new SecretReadError(`Secret ${namespace}/${name} does not exist`);
      if (kind === 'forbidden') throw new SecretReadError(`the operator may not read Secret ${namespace}/${name}`);
      throw error;
    }
  };
  return async (name, key) => {
    let data = secrets.get(name);
    if (!data) {
      data = load(name);
      secrets.set(name, data);
    }
    const value = (await data)[key];
    if (value === undefined) throw new SecretReadError(`Secret ${namespace}/${name} has no key ${key}`);
    return Buffer.from(value, 'base64').toString('utf8');
  };
}

/** The values of the secret arguments, as `args.NAME` placeholders. */
export async function secretArgValues(args: readonly AnalysisArg[], read: SecretReader): Promise<Map<string, string>> {
  const values = new Map<string, string>();
  for (const arg of args) {
    const ref = arg.valueFrom?.secretKeyRef;
    if (ref) values.set(`args.${arg.name}`, await read(ref.name, ref.key));
  }
  return values;
}

/** The provider's credentials of a metric. */
export async function credentialsOf(metric: Metric, read: SecretReader): Promise<Credentials> {
  const prometheus = metric.provider.prometheus;
  if (!prometheus) return {};
  const credentials: Credentials = {};
  const auth = prometheus.authentication;
  if (auth?.bearerTokenSecretRef) {
    credentials.bearerToken = (await read(auth.bearerTokenSecretRef.name, auth.bearerTokenSecretRef.key)).trim();
  }
  if (auth?.basicAuthSecretRef) {
    const name = auth.basicAuthSecretRef.name;
    credentials.basicAuth = { username: await read(name, 'username'), password: await read(name, 'password') };
  }
  if (prometheus.caSecretRef) credentials.ca = await read(prometheus.caSecretRef.name, prometheus.caSecretRef.key);
  return credentials;
}
