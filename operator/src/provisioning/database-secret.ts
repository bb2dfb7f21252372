// What the shared and the dedicated database have in common: the database and role names, and the
// Secret `<name>-db` holding the generated password (created once, never regenerated while it exists).
import type { MicroService } from '../api/microservice.ts';
import {
  buildDatabaseSecretData,
  computeDatabaseName,
  computeUsername,
  type DatabaseEngineName,
  generatePassword,
  InvalidIdentifierError,
} from '../database/index.ts';
import { childMeta, databaseSecretName, identityOf } from '../desired/index.ts';
import type { KubeClient } from '../kube/client.ts';
import { type KubeObject, secretType } from '../kube/objects.ts';
import type { ObjectCache } from '../runtime/object-cache.ts';
import { DatabaseReason } from './database-condition.ts';
import { encodeSecretData, ensureCredentialsSecret, ProvisionFailure } from './secrets.ts';

export interface DatabaseAddress {
  /** The DatabaseServer's name; empty for a dedicated instance. */
  serverName: string;
  engine: DatabaseEngineName;
  host: string;
  port: number;
}

/** The database and role names; the ones in status.database win once recorded (they never change). */
export function databaseNames(ms: MicroService, server: DatabaseAddress): { database: string; username: string } {
  const { name, namespace } = identityOf(ms);
  try {
    const recorded = ms.status?.database?.name;
    const database =
      recorded && ms.status?.database?.serverRef === server.serverName
        ? recorded
        : computeDatabaseName(server.engine, namespace, name, ms.spec.database?.name);
    return { database, username: computeUsername(server.engine, database) };
  } catch (error) {
    if (error instanceof InvalidIdentifierError) {
      throw new ProvisionFailure(DatabaseReason.InvalidName, error.message, false);
    }
    throw error;
  }
}

export interface DatabaseSecretOptions {
  client: KubeClient;
  /** Secrets labelled managed-by flotilla; a miss is confirmed with a GET. */
  secrets: ObjectCache;
  /** Tests only: runs right after the Secret was created, before the role exists (a crash there). */
  afterSecretCreated?: () => void;
}

/**
 * The Secret `<name>-db`, ours: created with a new password when missing; brought up to date (same
 * password) when the server's address changed. Returns its decoded data and resourceVersion.
 */
export async function ensureDatabaseSecret(
  options: DatabaseSecretOptions,
  ms: MicroService,
  server: DatabaseAddress,
  names: { database: string; username: string },
): Promise<{ data: Record<string, string>; resourceVersion: string }> {
  const { client, secrets } = options;
  const { name, namespace } = identityOf(ms);
  const secretName = databaseSecretName(name);
  const object = (password: string): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { ...childMeta(ms, secretName) },
    type: 'Opaque',
    data: encodeSecretData(
      buildDatabaseSecretData({ engine: server.engine, host: server.host, port: server.port, ...names, password }),
    ),
  });
  const { secret, data } = await ensureCredentialsSecret({
    client,
    ms,
    name: secretName,
    build: object,
    read: async (fresh) =>
      (fresh ? undefined : secrets.get(`${namespace}/${secretName}`)) ??
      client.getIfExists(secretType, secretName, namespace),
    generatePassword,
    ...(options.afterSecretCreated ? { onCreated: options.afterSecretCreated } : {}),
  });
  return { data, resourceVersion: secret.metadata.resourceVersion ?? '' };
}
