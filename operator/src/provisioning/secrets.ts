// The Secrets every provisioner deals in: a server's admin Secret, read when the server must be
// reached, and the service's own credentials Secret, written before the credentials are created on
// the server. Failures carry a condition reason and a message that
// never holds a password.
import type { MicroService } from '../api/microservice.ts';
import type { KubeClient } from '../kube/client.ts';
import { classifyError, isConflict, isNotFound } from '../kube/errors.ts';
import { type KubeObject, secretType } from '../kube/objects.ts';
import { ProvisionReason } from './reasons.ts';

/** A provisioning step could not finish: the condition's reason and message, and whether to retry. */
export class ProvisionFailure extends Error {
  readonly reason: string;
  readonly retry: boolean;
  constructor(reason: string, message: string, retry: boolean) {
    super(message);
    this.reason = reason;
    this.retry = retry;
  }
}

/** A Secret's data, decoded from base64 (keys whose value is not a string are left out). */
export const decodeSecretData = (secret: KubeObject | undefined): Record<string, string> =>
  Object.fromEntries(
    Object.entries((secret?.data ?? {}) as Record<string, unknown>)
      .filter((entry): entry is [string, string] => typeof entry[1] === 'string')
      .map(([key, value]) => [key, Buffer.from(value, 'base64').toString('utf8')]),
  );

export const encodeSecretData = (data: Record<string, string>): Record<string, string> =>
  Object.fromEntries(Object.entries(data).map(([key, value]) => [key, Buffer.from(value).toString('base64')]));

interface ServerRef {
  name: string;
  adminSecretRef: { namespace: string; name: string };
}

/** The decoded admin Secret of `server`, which must hold every key of `required`. */
export async function readAdminSecret(
  client: KubeClient,
  server: ServerRef,
  required: readonly string[],
): Promise<Record<string, string>> {
  const ref = server.adminSecretRef;
  const where = `the admin Secret ${ref.namespace}/${ref.name} of DatabaseServer ${server.name}`;
  let secret: KubeObject;
  try {
    secret = await client.get(secretType, ref.name, ref.namespace);
  } catch (error) {
    if (isNotFound(error))
      throw new ProvisionFailure(ProvisionReason.AdminSecretNotFound, `${where} does not exist`, true);
    if (classifyError(error) === 'forbidden') {
      throw new ProvisionFailure(
        ProvisionReason.AdminSecretForbidden,
        `the operator may not read ${where} (with watchNamespace, keep admin Secrets in the release namespace)`,
        true,
      );
    }
    throw error;
  }
  const data = decodeSecretData(secret);
  if (required.some((key) => !data[key])) {
    throw new ProvisionFailure(
      ProvisionReason.AdminSecretInvalid,
      `${where} needs the keys username and password`,
      true,
    );
  }
  return data;
}

export interface CredentialsSecretOptions {
  client: KubeClient;
  ms: MicroService;
  /** The Secret's name (in the service's namespace). */
  name: string;
  /** The Secret as it should be with `password` (base64 data). */
  build: (password: string) => KubeObject;
  /** Reads the Secret; `fresh` skips any cache. */
  read: (fresh: boolean) => Promise<KubeObject | undefined>;
  generatePassword: () => string;
  /** Called right after the Secret was created (tests crash the operator here). */
  onCreated?: () => void;
}

/**
 * The service's credentials Secret, ours: created with a new password when missing, else brought
 * up to date keeping its password. Returns the Secret, its decoded data, and whether it was created.
 */
export async function ensureCredentialsSecret(
  options: CredentialsSecretOptions,
): Promise<{ secret: KubeObject; data: Record<string, string>; created: boolean }> {
  const { client, ms, name } = options;
  const writeFailure = (error: unknown): ProvisionFailure => {
    // The API server's answer never echoes the data we sent; the reason and status code are enough.
    const status = (error as { statusCode?: number }).statusCode;
    return new ProvisionFailure(
      ProvisionReason.SecretWriteFailed,
      `could not write Secret ${name}${status ? ` (HTTP ${status})` : ''}`,
      true,
    );
  };
  let existing = await options.read(false);
  let created = false;
  if (!existing) {
    try {
      existing = await client.create(secretType, options.build(options.generatePassword()));
      created = true;
      options.onCreated?.();
    } catch (error) {
      if (!isConflict(error)) throw writeFailure(error);
      existing = await options.read(true);
      if (!existing) throw new ProvisionFailure(ProvisionReason.SecretWriteFailed, `Secret ${name} vanished`, true);
    }
  }
  const ours = (existing.metadata.ownerReferences ?? []).some((o) => o.uid === ms.metadata.uid && o.controller);
  if (!ours) {
    throw new ProvisionFailure(
      ProvisionReason.SecretNotOwned,
      `Secret ${name} already exists and was not created by Flotilla for this MicroService; it is left alone`,
      false,
    );
  }
  const current = decodeSecretData(existing);
  const wanted = options.build(current.password || options.generatePassword());
  const data = decodeSecretData(wanted);
  if (Object.entries(data).some(([key, value]) => current[key] !== value)) {
    try {
      existing = await client.apply(secretType, wanted);
    } catch (error) {
      throw writeFailure(error);
    }
  }
  return { secret: existing, data, created };
}
