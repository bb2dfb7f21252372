// The condition reasons every provisioner shares (DatabaseReady, CacheReady, ...); each adds its own.
// The server's own failures come from its engine: ConnectionRefused, HostNotFound, ConnectTimeout,
// AuthenticationFailed, InsufficientPrivileges and ServerError (database/types.ts).
export const ProvisionReason = {
  /** What the service asked for exists on the server, with the password in its Secret. */
  Provisioned: 'Provisioned',
  /** The serverRef names no DatabaseServer. */
  ServerNotFound: 'ServerNotFound',
  /** The server's adminSecretRef names no Secret. */
  AdminSecretNotFound: 'AdminSecretNotFound',
  /** The operator's RBAC does not let it read the admin Secret. */
  AdminSecretForbidden: 'AdminSecretForbidden',
  /** The admin Secret lacks the username or password key. */
  AdminSecretInvalid: 'AdminSecretInvalid',
  /** The name Flotilla would give it is not allowed on the server's engine. */
  InvalidName: 'InvalidName',
  /**
   * It exists on the server and is not this service's: another MicroService's (its mark says so), or not
   * created by Flotilla at all (no mark, and the server does not allow adoption).
   */
  NameConflict: 'NameConflict',
  /** The server's allowedNamespaces does not admit the service's namespace. */
  NamespaceNotAllowed: 'NamespaceNotAllowed',
  /** A credentials Secret of that name exists that Flotilla did not create; it is left alone. */
  SecretNotOwned: 'SecretNotOwned',
  /** The credentials Secret could not be written. */
  SecretWriteFailed: 'SecretWriteFailed',
} as const;
