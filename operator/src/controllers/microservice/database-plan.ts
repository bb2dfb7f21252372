// The database step's contribution to plan (pure): the DatabaseReady condition, status.database,
// and the credentials annotation that rolls the pods when (and only when) the credentials change.
import type { MicroServiceStatus } from '../../api/microservice.ts';
import { canonicalHash } from '../../common/hash.ts';
import type { ConditionFact } from './conditions.ts';

export const DATABASE_READY = 'DatabaseReady';

/** The finalizer on a MicroService with spec.database: the database outlives it until reclaimed. */
export const DATABASE_FINALIZER = 'flotilla.dev/database';

/** On the pod template: a hash of the credentials (never the credentials), so pods roll when they change. */
export { CREDENTIALS_HASH_ANNOTATION } from '../../desired/index.ts';

/** Reasons of the DatabaseReady condition. */
export const DatabaseReason = {
  /** The database and its role exist, and the role's password is the one in the Secret. */
  Provisioned: 'Provisioned',
  /** spec.database.serverRef names no DatabaseServer. */
  ServerNotFound: 'ServerNotFound',
  /** The DatabaseServer is not a postgres or mysql server (a cache server, say). */
  EngineMismatch: 'EngineMismatch',
  /** The DatabaseServer's adminSecretRef names no Secret. */
  AdminSecretNotFound: 'AdminSecretNotFound',
  /** The operator's RBAC does not let it read the admin Secret. */
  AdminSecretForbidden: 'AdminSecretForbidden',
  /** The admin Secret lacks the username or password key. */
  AdminSecretInvalid: 'AdminSecretInvalid',
  /** The database or role name is not allowed on the server's engine. */
  InvalidName: 'InvalidName',
  /**
   * The database or role exists on the server and is not this service's: another MicroService's (its mark
   * says so), or not created by Flotilla at all (no mark, and the server does not allow adoption).
   */
  NameConflict: 'NameConflict',
  /** The DatabaseServer's allowedNamespaces does not admit the service's namespace. */
  NamespaceNotAllowed: 'NamespaceNotAllowed',
  /** A Secret `<name>-db` exists that Flotilla did not create; it is left alone. */
  SecretNotOwned: 'SecretNotOwned',
  /** The credentials Secret could not be written. */
  SecretWriteFailed: 'SecretWriteFailed',
  // The server's own failures: ConnectionRefused, HostNotFound, ConnectTimeout, AuthenticationFailed,
  // InsufficientPrivileges and ServerError (database/types.ts ConnectionFailureReason).
} as const;

/** Reasons of the Events the database step records on the MicroService. */
export const DatabaseEventReason = {
  DatabaseProvisioned: 'DatabaseProvisioned',
  /** A database or role without Flotilla's mark was taken over (spec.adoption), and marked. */
  DatabaseAdopted: 'DatabaseAdopted',
  DatabaseFailed: 'DatabaseFailed',
  DatabaseRetained: 'DatabaseRetained',
  DatabaseDropped: 'DatabaseDropped',
  DatabaseDropFailed: 'DatabaseDropFailed',
  DatabaseLeftBehind: 'DatabaseLeftBehind',
} as const;

/** What the database step found and did, as plan's input. */
export interface DatabasePlanInput {
  condition: ConditionFact;
  /** status.database; undefined keeps the previous value. */
  status?: NonNullable<MicroServiceStatus['database']>;
  /** computeCredentialsHash of the Secret's data; undefined while no Secret exists. */
  credentialsHash?: string;
}

/** A short SHA-256 of the Secret's data (canonical JSON): changes when any credential changes. Pure. */
export function computeCredentialsHash(data: Record<string, string>): string {
  return canonicalHash(data, 16);
}
