// The broker user of a MicroService on RabbitMQ, pure: its name, the permissions that confine it to its own
// exchange and queues and the exchanges of the services it subscribes to, the check of a password against the
// hash the management API shows, the AMQP_URL and Secret data. The engine that applies them is rabbitmq.ts.
import { createHash } from 'node:crypto';
import { encodeComponent } from './credentials.ts';
import { InvalidIdentifierError } from './identifiers.ts';
import { formatOwnerMark } from './ownership.ts';

/** How the operator reaches a RabbitMQ server: its management API as the admin, and its AMQP address. */
export interface BrokerAdminConnection {
  /** The management API's base URL, e.g. http://127.0.0.1:15672 (the `/api` under it is added). */
  managementUrl: string;
  username: string;
  password: string;
  /** Request timeout in milliseconds (default 5000). */
  timeoutMs?: number;
}

/** What a service asks of the broker (spec.messaging), with the defaults applied. */
export interface BrokerUserSpec {
  /** The MicroService's namespace and name: DNS labels. */
  namespace: string;
  name: string;
  vhost: string;
  publishes: boolean;
  /** MicroService names in the same namespace whose exchange this service may bind its queues to. */
  subscribesTo: readonly string[];
  maxConnections: number;
  maxChannels: number;
}

/** Configure, write and read: anchored regexes over exchange and queue names (RabbitMQ's permissions). */
export interface BrokerPermissions {
  configure: string;
  write: string;
  read: string;
}

/** The user as Flotilla makes it. */
export interface BrokerUser {
  /** `<namespace>.<name>`. */
  username: string;
  vhost: string;
  /** The service's event exchange: exactly `<name>`. Its queues and other exchanges are `<name>.<anything>`. */
  exchange: string;
  permissions: BrokerPermissions;
  limits: { 'max-connections': number; 'max-channels': number };
  /** The user's only tag: Flotilla's mark of ownership. A tag RabbitMQ does not know gives no management access. */
  tag: string;
}

export const DEFAULT_MAX_CONNECTIONS = 20;
export const DEFAULT_MAX_CHANNELS = 100;

/** A DNS-1123 label: no regex metacharacter but `-`, which means itself outside brackets. */
const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function checkLabel(kind: string, value: string): void {
  if (!LABEL.test(value) || value.length > 63) {
    const shown = JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
    throw new InvalidIdentifierError(
      `${kind} ${shown} is not allowed in a broker user: use a DNS label (lowercase letters, digits and dashes)`,
    );
  }
}

/**
 * The permissions of `name`: configure its exchange `<name>` and anything `<name>.…`; write (publish, and bind
 * its own queues) the same when it publishes, else only `<name>.…` (binding needs write on the queue); read
 * (consume, and be the source of a binding) its own, and the exchanges of `subscribesTo` by their exact names,
 * so another service's queues stay unreadable. Pure.
 */
export function buildBrokerPermissions(name: string, publishes: boolean, subscribesTo: readonly string[]) {
  const own = `${name}(\\..+)?`;
  const subscribed = [...new Set(subscribesTo)].filter((s) => s !== name).sort();
  return {
    configure: `^${own}$`,
    write: publishes ? `^${own}$` : `^${name}\\..+$`,
    read: `^(${[own, ...subscribed].join('|')})$`,
  };
}

/** The services a read permission built by buildBrokerPermissions for `name` admits. Pure. */
export function subscriptionsOf(name: string, read: string): string[] {
  const prefix = `^(${name}(\\..+)?`;
  if (!read.startsWith(prefix) || !read.endsWith(')$')) return [];
  return read
    .slice(prefix.length, -2)
    .split('|')
    .filter((s) => LABEL.test(s));
}

/** The user of the MicroService `spec.name` in `spec.namespace`. Pure; throws on an unsafe name. */
export function computeBrokerUser(spec: BrokerUserSpec): BrokerUser {
  checkLabel('namespace', spec.namespace);
  checkLabel('name', spec.name);
  checkLabel('vhost', spec.vhost);
  for (const service of spec.subscribesTo) checkLabel('subscribed service', service);
  return {
    username: `${spec.namespace}.${spec.name}`,
    vhost: spec.vhost,
    exchange: spec.name,
    permissions: buildBrokerPermissions(spec.name, spec.publishes, spec.subscribesTo),
    limits: { 'max-connections': spec.maxConnections, 'max-channels': spec.maxChannels },
    tag: formatOwnerMark(`${spec.namespace}/${spec.name}`),
  };
}

/** Whether `name` is one of the service's own exchanges or queues: `<service>` or `<service>.…`. Pure. */
export function ownsBrokerObject(service: string, name: string): boolean {
  return name === service || name.startsWith(`${service}.`);
}

/** The digest each of RabbitMQ's password hashing modules uses. */
const HASHING: Record<string, string> = {
  rabbit_password_hashing_sha256: 'sha256',
  rabbit_password_hashing_sha512: 'sha512',
  rabbit_password_hashing_md5: 'md5',
};

/** RabbitMQ's password hash: base64 of a 4-byte salt, then digest(salt + password). Pure given the salt. */
export function rabbitPasswordHash(password: string, salt: Buffer, algorithm = 'rabbit_password_hashing_sha256') {
  const digest = HASHING[algorithm];
  if (!digest) throw new Error(`unknown password hashing ${algorithm}`);
  const hash = createHash(digest)
    .update(Buffer.concat([salt, Buffer.from(password, 'utf8')]))
    .digest();
  return Buffer.concat([salt, hash]).toString('base64');
}

/**
 * Whether `password` is the one behind `passwordHash` (as GET /api/users/<name> shows it), so that a reconcile
 * can tell without changing anything. An unknown algorithm or a malformed hash is "no". Pure.
 */
export function passwordMatchesHash(password: string, passwordHash: unknown, algorithm: unknown): boolean {
  if (typeof passwordHash !== 'string' || passwordHash === '') return false;
  const name = typeof algorithm === 'string' ? algorithm : 'rabbit_password_hashing_sha256';
  if (!HASHING[name]) return false;
  const bytes = Buffer.from(passwordHash, 'base64');
  if (bytes.length <= 4) return false;
  return rabbitPasswordHash(password, bytes.subarray(0, 4), name) === passwordHash;
}

export interface BrokerCredentials {
  host: string;
  port: number;
  vhost: string;
  username: string;
  password: string;
}

/** `amqp://user:password@host:port/vhost`, every part percent-encoded. Pure. */
export function buildAmqpUrl(credentials: BrokerCredentials): string {
  const { host, port, vhost, username, password } = credentials;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`invalid port ${port}`);
  const hostPart = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return `amqp://${encodeComponent(username)}:${encodeComponent(password)}@${hostPart}:${port}/${encodeComponent(vhost)}`;
}

/** The data of the Secret `<name>-mq`: keys AMQP_URL, host, port, vhost, username, password. Pure. */
export function buildBrokerSecretData(credentials: BrokerCredentials): Record<string, string> {
  return {
    AMQP_URL: buildAmqpUrl(credentials),
    host: credentials.host,
    port: String(credentials.port),
    vhost: credentials.vhost,
    username: credentials.username,
    password: credentials.password,
  };
}
