// The database's condition (DatabaseReady), its reasons and Events, its finalizer, and the credentials
// hash that rolls the pods when (and only when) the credentials change. Pure.
import { canonicalHash } from '../common/hash.ts';
import { ProvisionReason } from './reasons.ts';

export const DATABASE_READY = 'DatabaseReady';

/** The finalizer on a MicroService with spec.database: the database outlives it until reclaimed. */
export const DATABASE_FINALIZER = 'flotilla.dev/database';

/** On the pod template: a hash of the credentials (never the credentials), so pods roll when they change. */
export { CREDENTIALS_HASH_ANNOTATION } from '../desired/index.ts';

/** Reasons of the DatabaseReady condition. */
export const DatabaseReason = {
  ...ProvisionReason,
  /** The DatabaseServer is not a postgres or mysql server (a cache server, say). */
  EngineMismatch: 'EngineMismatch',
} as const;

/** Reasons of the Events the database provisioners return. */
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

/** A short SHA-256 of the Secret's data (canonical JSON): changes when any credential changes. Pure. */
export function computeCredentialsHash(data: Record<string, string>): string {
  return canonicalHash(data, 16);
}
