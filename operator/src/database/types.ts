// The narrow interface every database engine (postgres, mysql) implements, chosen by createEngine.
import type { DatabaseEngineName } from './identifiers.ts';

/** How the operator logs in to a server as its administrator (from the DatabaseServer and its admin Secret). */
export interface AdminConnection {
  engine: DatabaseEngineName;
  host: string;
  port: number;
  username: string;
  password: string;
  /** Where the admin connects first on postgres; `postgres` when unset. Ignored on mysql. */
  database?: string;
  /** Bound of the server's connection pool (default 4). */
  maxConnections?: number;
  /** Connect timeout in milliseconds (default 5000). */
  connectTimeoutMs?: number;
}

/** CamelCase reasons, ready to be a condition's `reason`. */
export type ConnectionFailureReason =
  | 'AuthenticationFailed'
  | 'ConnectionRefused'
  | 'HostNotFound'
  | 'ConnectTimeout'
  | 'InsufficientPrivileges'
  | 'ServerError';

export type ConnectionCheck =
  | { ok: true; serverVersion: string }
  | { ok: false; reason: ConnectionFailureReason; message: string };

/** What a service gets: one database and one role (user) that can reach only it. */
export interface DatabaseRequest {
  database: string;
  username: string;
  /** The password in the service's Secret; the role's password is made to match it. */
  password: string;
}

/**
 * One step ensureDatabase or dropDatabase took. A call that finds everything in place reports none,
 * and then it issued no DDL.
 */
export type DatabaseAction =
  | 'CreateRole'
  | 'SetRolePassword'
  /** postgres, admin not a superuser: the admin made a member of the role, to own its database through it. */
  | 'GrantRoleToAdmin'
  | 'CreateDatabase'
  | 'SetDatabaseOwner'
  | 'RevokePublicConnect'
  | 'GrantPrivileges'
  | 'DropDatabase'
  | 'DropRole';

export interface DatabaseResult {
  /** The DDL steps taken, in order; empty when nothing had to change. */
  actions: DatabaseAction[];
}

export interface DatabaseEngine {
  readonly engine: DatabaseEngineName;
  /** Logs in as the admin; returns the server's version, or a clear reason that never contains the password. */
  checkConnection(): Promise<ConnectionCheck>;
  /**
   * Idempotent and crash-safe: the role is created or its password set to match; then the database, owned
   * by (postgres) or granted to (mysql) that role; then access limited so no other role can connect to it.
   */
  ensureDatabase(request: DatabaseRequest): Promise<DatabaseResult>;
  /** Drops the database and the role; missing ones count as done. */
  dropDatabase(target: Pick<DatabaseRequest, 'database' | 'username'>): Promise<DatabaseResult>;
  /** Closes the server's pool. */
  close(): Promise<void>;
}
