// The cache user of a MicroService on Redis, pure: its name and key prefix, the ACL rules that confine it,
// whether an existing user matches them, the REDIS_URL and Secret data, and reasons for failures. The
// engine that applies them is redis.ts.
import { sha256Hex } from '../common/hash.ts';
import { encodeComponent } from './credentials.ts';
import { redact } from './errors.ts';
import { InvalidIdentifierError } from './identifiers.ts';
import type { ConnectionFailureReason } from './types.ts';

/** How the operator logs in to a Redis server as its administrator (from the DatabaseServer and its Secret). */
export interface RedisAdminConnection {
  host: string;
  port: number;
  /** An ACL user allowed `ACL SETUSER/GETUSER/DELUSER`, `SCAN` and `UNLINK` on every key; `default` when unset. */
  username?: string;
  password: string;
  /** Connect timeout in milliseconds (default 5000). */
  connectTimeoutMs?: number;
}

/** A service's cache identity on the server. */
export interface CacheUser {
  /** The ACL user: `<namespace>.<name>` (no colon, so that every client parses it out of REDIS_URL). */
  username: string;
  /** Every key and channel the user may reach starts with it: `<namespace>:<name>:`. */
  keyPrefix: string;
}

export interface CacheRequest extends CacheUser {
  /** The password in the service's Secret; the user's password is made to match it. */
  password: string;
}

/** Who a cache user is for: Flotilla's mark of ownership, kept by the server beside the user. */
export interface CacheOwner {
  /** The MicroService, `<namespace>/<name>`. */
  owner: string;
  /** Take over an ACL user of the name that exists without the mark (the DatabaseServer's spec.adoption). */
  adopt?: boolean;
}

/** One step ensureCacheUser or dropCacheUser took; none when everything was in place. */
export type CacheAction = 'SetUser' | 'AdoptUser' | 'DeleteUser' | 'DeleteKeys';

export interface CacheResult {
  actions: CacheAction[];
  /** dropCacheUser: how many keys under the prefix were deleted. */
  deletedKeys?: number;
}

/** A DNS-1123 label: what a namespace and a MicroService name are; no glob or ACL metacharacter fits in it. */
const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function checkLabel(kind: string, value: string): void {
  if (!LABEL.test(value) || value.length > 63) {
    const shown = JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
    throw new InvalidIdentifierError(
      `${kind} ${shown} is not allowed in a cache user: use a DNS label (lowercase letters, digits and dashes)`,
    );
  }
}

/** The ACL user and key prefix of the MicroService `name` in `namespace`. Pure; throws on an unsafe name. */
export function computeCacheUser(namespace: string, name: string): CacheUser {
  checkLabel('namespace', namespace);
  checkLabel('name', name);
  return { username: `${namespace}.${name}`, keyPrefix: `${namespace}:${name}:` };
}

/** A prefix as computeCacheUser makes it: safe inside a glob pattern (`~prefix*`, `SCAN MATCH prefix*`). */
const PREFIX = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?:[a-z0-9]([-a-z0-9]*[a-z0-9])?:$/;
const USERNAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?\.[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Throws unless the user and prefix are ones computeCacheUser could have made. */
export function validateCacheUser(user: CacheUser): CacheUser {
  if (!USERNAME.test(user.username) || user.username.length > 127) {
    throw new InvalidIdentifierError(`cache user ${JSON.stringify(user.username)} is not <namespace>.<name>`);
  }
  if (!PREFIX.test(user.keyPrefix) || user.keyPrefix.length > 128) {
    throw new InvalidIdentifierError(`key prefix ${JSON.stringify(user.keyPrefix)} is not <namespace>:<name>:`);
  }
  return user;
}

/**
 * The commands a service may run: everything (so new commands of a new Redis keep working) but
 * - `@dangerous` (it holds `@admin`): ACL, CONFIG, FLUSHALL, FLUSHDB, KEYS, INFO, MONITOR, CLIENT KILL/LIST,
 *   DEBUG, SHUTDOWN, SWAPDB, MIGRATE, SORT, replication and cluster administration;
 * - what would show or change other services' data although it names no key: SCAN and RANDOMKEY (key names),
 *   DBSIZE (their number), PUBSUB (channel names), FUNCTION (the server-wide function library) and
 *   SCRIPT FLUSH (everyone's script cache).
 * Redis checks the keys of every other command, Lua scripts' included, against `~prefix*`.
 */
export const CACHE_COMMAND_RULES = [
  '+@all',
  '-@dangerous',
  '-scan',
  '-randomkey',
  '-dbsize',
  '-pubsub',
  '-function',
  '-script|flush',
] as const;

/** `ACL SETUSER <username> …rules`: the user from scratch (`reset`), so nothing granted earlier survives. Pure. */
export function buildCacheAclRules(request: CacheRequest): string[] {
  validateCacheUser(request);
  if (!request.password) throw new Error('a cache user needs a password');
  return [
    'reset',
    'on',
    `>${request.password}`,
    `~${request.keyPrefix}*`,
    `&${request.keyPrefix}*`,
    ...CACHE_COMMAND_RULES,
  ];
}

/** SHA-256 in hex: how Redis keeps and shows a password. */
export function redisPasswordHash(password: string): string {
  return sha256Hex(password);
}

/** `ACL GETUSER`'s reply (RESP2: a flat list of field, value), as a map. Pure. */
export function parseAclUser(reply: unknown): Map<string, unknown> | undefined {
  if (!Array.isArray(reply)) return undefined;
  const fields = new Map<string, unknown>();
  for (let i = 0; i + 1 < reply.length; i += 2) fields.set(String(reply[i]), reply[i + 1]);
  return fields;
}

/** A field that Redis 6 gives as a list and Redis 7 as one space-separated string, as a set of tokens. */
function tokens(value: unknown): Set<string> {
  const text = Array.isArray(value) ? value.map(String).join(' ') : typeof value === 'string' ? value : '';
  return new Set(text.split(' ').filter(Boolean));
}

const sameSet = (a: Set<string>, b: Set<string>) => a.size === b.size && [...a].every((x) => b.has(x));

/**
 * Whether the user `ACL GETUSER` describes is exactly the one buildCacheAclRules makes: enabled, with the
 * one password, the one key and channel pattern, the same command rules and no selectors. Pure.
 */
export function aclUserMatches(reply: unknown, request: CacheRequest): boolean {
  const user = parseAclUser(reply);
  if (!user) return false;
  const flags = tokens(user.get('flags'));
  if (!flags.has('on') || flags.has('nopass') || flags.has('allkeys') || flags.has('allchannels')) return false;
  const passwords = tokens(user.get('passwords'));
  if (!sameSet(passwords, new Set([redisPasswordHash(request.password)]))) return false;
  if (!sameSet(tokens(user.get('keys')), new Set([`~${request.keyPrefix}*`]))) return false;
  if (user.has('channels') && !sameSet(tokens(user.get('channels')), new Set([`&${request.keyPrefix}*`]))) {
    return false;
  }
  if (!sameSet(tokens(user.get('commands')), new Set(CACHE_COMMAND_RULES))) return false;
  const selectors = user.get('selectors');
  return !Array.isArray(selectors) || selectors.length === 0;
}

export interface CacheCredentials {
  host: string;
  port: number;
  username: string;
  password: string;
  keyPrefix: string;
}

/** `redis://user:password@host:port`, every part percent-encoded. Pure. */
export function buildRedisUrl(credentials: Omit<CacheCredentials, 'keyPrefix'>): string {
  const { host, port, username, password } = credentials;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`invalid port ${port}`);
  const hostPart = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return `redis://${encodeComponent(username)}:${encodeComponent(password)}@${hostPart}:${port}`;
}

/** The data of the Secret `<name>-cache`: keys REDIS_URL, host, port, username, password, keyPrefix. Pure. */
export function buildCacheSecretData(credentials: CacheCredentials): Record<string, string> {
  return {
    REDIS_URL: buildRedisUrl(credentials),
    host: credentials.host,
    port: String(credentials.port),
    username: credentials.username,
    password: credentials.password,
    keyPrefix: credentials.keyPrefix,
  };
}

/** Maps an ioredis or socket error to a reason; the message is redacted of `secrets`. Pure. */
export function classifyRedisError(
  error: unknown,
  where: string,
  secrets: readonly string[],
): { reason: ConnectionFailureReason; message: string } {
  const e = (typeof error === 'object' && error !== null ? error : {}) as { code?: unknown; message?: unknown };
  const code = typeof e.code === 'string' ? e.code : '';
  const raw = String(e.message ?? error);
  const detail = redact(raw, secrets);
  const say = (reason: ConnectionFailureReason, text: string) => ({ reason, message: redact(text, secrets) });
  if (/\b(WRONGPASS|NOAUTH)\b/.test(raw)) {
    return say('AuthenticationFailed', `the server at ${where} refused the admin credentials: ${detail}`);
  }
  if (/\bNOPERM\b/.test(raw))
    return say('InsufficientPrivileges', `the admin user lacks a permission on ${where}: ${detail}`);
  if (code === 'ECONNREFUSED') return say('ConnectionRefused', `nothing accepts connections at ${where}`);
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return say('HostNotFound', `the host of ${where} is not found`);
  if (code === 'ETIMEDOUT' || /timeout|timed out/i.test(raw)) {
    return say('ConnectTimeout', `connecting to ${where} timed out: ${detail}`);
  }
  return say('ServerError', `the server at ${where} failed: ${detail}`);
}

/** The version in `HELLO`'s reply (RESP2: a flat list of field, value). Pure. */
export function versionFromHello(reply: unknown): string | undefined {
  const fields = parseAclUser(reply);
  const version = fields?.get('version');
  return typeof version === 'string' ? version : undefined;
}
