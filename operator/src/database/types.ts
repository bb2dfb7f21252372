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
  /**
   * The MicroService (`<namespace>/<name>`) it is for: written on the server as Flotilla's mark of ownership
   * with everything created, and compared with the mark of whatever exists under the names.
   */
  owner: string;
  /**
   * Take over a database or role of these names that exists without a mark (the DatabaseServer's
   * spec.adoption allows it): the mark is written. Otherwise such an object is never altered.
   */
  adopt?: boolean;
}

/** The names and the mark a service's database is checked or dropped by. */
export type DatabaseTarget = Pick<DatabaseRequest, 'database' | 'username' | 'owner' | 'adopt'>;

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
  /** An object without Flotilla's mark taken over (adopt) and marked. */
  | 'AdoptDatabase'
  | 'AdoptRole'
  /** The mark written on a database Flotilla had created but not yet marked (a crash in between). */
  | 'MarkDatabase'
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
  /**
   * Read-only: throws InvalidIdentifierError for a name the engine refuses (the admin's, the server's own),
   * OwnershipConflictError when the database or role exists and is not `owner`'s (nor adoptable).
   */
  checkOwnership(target: DatabaseTarget): Promise<void>;
  /**
   * Drops the database and the role that carry `owner`'s mark; missing ones count as done, and ones that
   * are not `owner`'s are left alone (not in the actions).
   */
  dropDatabase(target: Omit<DatabaseTarget, 'adopt'>): Promise<DatabaseResult>;
  /** Closes the server's pool. */
  close(): Promise<void>;
}
