// The rabbitmq engine for spec.messaging, through the management HTTP API: one user per MicroService with the
// permissions broker-user.ts derives, its mark of ownership as its only tag. Every step reads first and writes
// only what differs, so a reconcile of a service that is as wanted writes nothing (and never a new password).
import {
  type BrokerAdminConnection,
  type BrokerUser,
  ownsBrokerObject,
  passwordMatchesHash,
  subscriptionsOf,
} from './broker-user.ts';
import { redact } from './errors.ts';
import { decideClaim, OwnershipConflictError, parseOwnerMark } from './ownership.ts';
import type { ConnectionCheck, ConnectionFailureReason } from './types.ts';

/** A management API answer that is not a success: its HTTP status and what the server said. */
export class BrokerHttpError extends Error {
  override name = 'BrokerHttpError';
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/** A failure of the broker, classified: a condition reason and a message without a password. */
export class BrokerFailure extends Error {
  override name = 'BrokerFailure';
  readonly reason: ConnectionFailureReason;
  constructor(reason: ConnectionFailureReason, message: string) {
    super(message);
    this.reason = reason;
  }
}

/** One step ensureBrokerUser or dropBrokerUser took; none when everything was in place. */
export type BrokerAction =
  | 'CreateVhost'
  | 'SetUser'
  | 'AdoptUser'
  | 'SetPermissions'
  | 'RevokeOtherVhost'
  | 'SetLimits'
  | 'Unbind'
  | 'DeleteUser'
  | 'DeleteQueues'
  | 'DeleteExchanges';

export interface BrokerResult {
  actions: BrokerAction[];
  /** dropBrokerUser with purge: how many queues and exchanges were deleted. */
  deleted?: { queues: number; exchanges: number };
}

export interface BrokerOwner {
  /** The MicroService, `<namespace>/<name>`: the user's tag says it. */
  owner: string;
  /** Take over a user of the name that exists without the mark (the DatabaseServer's spec.adoption). */
  adopt?: boolean;
}

export interface BrokerEngine {
  readonly engine: 'rabbitmq';
  /** Logs in to the management API and checks the admin may manage users: the version, or why not. */
  checkConnection(): Promise<ConnectionCheck>;
  /**
   * Read-only: throws OwnershipConflictError when the user exists and is not `owner`'s (nor adoptable), or when
   * another namespace's service of the same name holds the same exchange in the vhost.
   */
  checkBrokerOwnership(user: BrokerUser, owner: BrokerOwner): Promise<void>;
  /**
   * Idempotent: the vhost, the user (password and tag), its permissions (none in other vhosts) and limits; the
   * bindings into its queues from exchanges it may no longer read are removed. Writes only what differs.
   */
  ensureBrokerUser(user: BrokerUser, owner: BrokerOwner & { password: string }): Promise<BrokerResult>;
  /** Deletes the user (not another's) and, with purge, its queues and exchanges; missing counts as done. */
  dropBrokerUser(user: BrokerUser, options: { owner: string; purge: boolean }): Promise<BrokerResult>;
  /** How many management API calls that change something were made (for the benchmark). */
  readonly writes: number;
}

interface RabbitUser {
  name: string;
  password_hash?: string;
  hashing_algorithm?: string;
  tags?: string[] | string;
  limits?: Record<string, number>;
}

interface RabbitPermission {
  user: string;
  vhost: string;
  configure: string;
  write: string;
  read: string;
}

interface RabbitBinding {
  source: string;
  destination: string;
  destination_type: 'queue' | 'exchange';
  properties_key: string;
}

const tagsOf = (user: RabbitUser): string[] =>
  Array.isArray(user.tags) ? user.tags : (user.tags ?? '').split(',').filter(Boolean);

/** The owner the user's tags name, if one of them is Flotilla's mark. */
const markOf = (user: RabbitUser): string | undefined =>
  tagsOf(user)
    .map((tag) => parseOwnerMark(tag))
    .find((owner) => owner !== undefined);

const e = encodeURIComponent;

export function createRabbitmqEngine(admin: BrokerAdminConnection): BrokerEngine {
  const base = `${admin.managementUrl.replace(/\/+$/, '')}/api`;
  const where = `rabbitmq management API ${admin.managementUrl}`;
  const authorization = `Basic ${Buffer.from(`${admin.username}:${admin.password}`).toString('base64')}`;
  let writes = 0;

  /** The JSON of a GET, or undefined on 404; a write's success. Failures throw BrokerHttpError or fetch's error. */
  async function call<T>(method: string, path: string, body?: unknown): Promise<T | undefined> {
    if (method !== 'GET') writes += 1;
    const response = await fetch(`${base}${path}`, {
      method,
      headers: { authorization, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(admin.timeoutMs ?? 5000),
    });
    const text = await response.text();
    if (response.status === 404 && (method === 'GET' || method === 'DELETE')) return undefined;
    if (!response.ok)
      throw new BrokerHttpError(
        response.status,
        `${method} /api${path}: HTTP ${response.status} ${text.slice(0, 200)}`,
      );
    return (text ? JSON.parse(text) : undefined) as T;
  }

  async function run<T>(doing: string, action: () => Promise<T>, secrets: string[] = []): Promise<T> {
    try {
      return await action();
    } catch (error) {
      if (error instanceof OwnershipConflictError) throw error;
      const { reason, message } = classifyBrokerError(error, where, [admin.password, ...secrets]);
      throw new BrokerFailure(reason, `${doing}: ${message}`);
    }
  }

  const getUser = (username: string) => call<RabbitUser>('GET', `/users/${e(username)}`);

  async function claimOf(user: BrokerUser, owner: BrokerOwner) {
    const existing = await getUser(user.username);
    const found = existing ? { exists: true as const, owner: markOf(existing) } : { exists: false as const };
    return { existing, claim: decideClaim('broker user', user.username, found, owner) };
  }

  /** Another user holding this service's configure right in the vhost: the same name in another namespace. */
  async function checkExchangeTaken(user: BrokerUser): Promise<void> {
    const permissions = (await call<RabbitPermission[]>('GET', `/vhosts/${e(user.vhost)}/permissions`)) ?? [];
    const other = permissions.find((p) => p.user !== user.username && p.configure === user.permissions.configure);
    if (other) throw new OwnershipConflictError('broker user', other.user, other.user.replace('.', '/'));
  }

  /** Bindings into the service's queues and exchanges from exchanges it may no longer read. */
  async function unbindForeign(user: BrokerUser): Promise<number> {
    const subscribed = new Set(subscriptionsOf(user.exchange, user.permissions.read));
    const bindings = (await call<RabbitBinding[]>('GET', `/bindings/${e(user.vhost)}`)) ?? [];
    let removed = 0;
    for (const b of bindings) {
      if (!ownsBrokerObject(user.exchange, b.destination) || b.source === '') continue;
      if (ownsBrokerObject(user.exchange, b.source) || subscribed.has(b.source)) continue;
      const kind = b.destination_type === 'queue' ? 'q' : 'e';
      await call(
        'DELETE',
        `/bindings/${e(user.vhost)}/e/${e(b.source)}/${kind}/${e(b.destination)}/${e(b.properties_key)}`,
      );
      removed += 1;
    }
    return removed;
  }

  return {
    engine: 'rabbitmq',
    get writes() {
      return writes;
    },

    async checkConnection(): Promise<ConnectionCheck> {
      try {
        const overview = await call<{ rabbitmq_version?: string }>('GET', '/overview');
        const whoami = await call<{ tags?: string[] | string }>('GET', '/whoami');
        if (!tagsOf({ name: '', tags: whoami?.tags ?? [] }).includes('administrator')) {
          return {
            ok: false,
            reason: 'InsufficientPrivileges',
            message: `the admin user of ${where} lacks the administrator tag, needed to manage users`,
          };
        }
        return { ok: true, serverVersion: overview?.rabbitmq_version ?? 'unknown' };
      } catch (error) {
        return { ok: false, ...classifyBrokerError(error, where, [admin.password]) };
      }
    },

    async checkBrokerOwnership(user: BrokerUser, owner: BrokerOwner): Promise<void> {
      await run(`checking the ownership of the broker user ${user.username}`, async () => {
        await claimOf(user, owner);
        await checkExchangeTaken(user);
      });
    },

    async ensureBrokerUser(user: BrokerUser, owner: BrokerOwner & { password: string }): Promise<BrokerResult> {
      return run(`ensuring the broker user ${user.username}`, async () => {
        const actions: BrokerAction[] = [];
        const { existing, claim } = await claimOf(user, owner);
        if (!(await call('GET', `/vhosts/${e(user.vhost)}`))) {
          await call('PUT', `/vhosts/${e(user.vhost)}`, { description: 'flotilla: a namespace’s services' });
          actions.push('CreateVhost');
        }
        const sameUser =
          claim === 'ours' &&
          existing !== undefined &&
          passwordMatchesHash(owner.password, existing.password_hash, existing.hashing_algorithm) &&
          tagsOf(existing).join(',') === user.tag;
        if (!sameUser) {
          // One PUT: the user is never there without its mark.
          await call('PUT', `/users/${e(user.username)}`, { password: owner.password, tags: user.tag });
          actions.push(claim === 'adopt' ? 'AdoptUser' : 'SetUser');
        }
        const permissions = (await call<RabbitPermission[]>('GET', `/users/${e(user.username)}/permissions`)) ?? [];
        const here = permissions.find((p) => p.vhost === user.vhost);
        const { configure, write, read } = user.permissions;
        if (here?.configure !== configure || here.write !== write || here.read !== read) {
          await call('PUT', `/permissions/${e(user.vhost)}/${e(user.username)}`, { configure, write, read });
          actions.push('SetPermissions');
        }
        for (const other of permissions.filter((p) => p.vhost !== user.vhost)) {
          await call('DELETE', `/permissions/${e(other.vhost)}/${e(user.username)}`);
          actions.push('RevokeOtherVhost');
        }
        const limits = existing?.limits ?? {};
        let limitsSet = false;
        for (const [limit, value] of Object.entries(user.limits)) {
          if (limits[limit] === value) continue;
          await call('PUT', `/user-limits/${e(user.username)}/${limit}`, { value });
          limitsSet = true;
        }
        if (limitsSet) actions.push('SetLimits');
        // After the permissions: nothing the service does from here on can make a binding that stays.
        if ((await unbindForeign(user)) > 0) actions.push('Unbind');
        return { actions };
      }, [owner.password]);
    },

    async dropBrokerUser(user: BrokerUser, options: { owner: string; purge: boolean }): Promise<BrokerResult> {
      return run(`dropping the broker user ${user.username}`, async () => {
        const actions: BrokerAction[] = [];
        const existing = await getUser(user.username);
        if (existing && markOf(existing) !== options.owner) return { actions };
        // The user first: it is disconnected and can make nothing new while its queues go.
        if (existing) {
          await call('DELETE', `/users/${e(user.username)}`);
          actions.push('DeleteUser');
        }
        if (!options.purge) return { actions };
        const vhost = e(user.vhost);
        const owned = (objects: { name: string }[] | undefined) =>
          (objects ?? []).map((o) => o.name).filter((name) => ownsBrokerObject(user.exchange, name));
        const queues = owned(await call<{ name: string }[]>('GET', `/queues/${vhost}?columns=name`));
        for (const queue of queues) await call('DELETE', `/queues/${vhost}/${e(queue)}`);
        const exchanges = owned(await call<{ name: string }[]>('GET', `/exchanges/${vhost}?columns=name`));
        for (const exchange of exchanges) await call('DELETE', `/exchanges/${vhost}/${e(exchange)}`);
        if (queues.length > 0) actions.push('DeleteQueues');
        if (exchanges.length > 0) actions.push('DeleteExchanges');
        return { actions, deleted: { queues: queues.length, exchanges: exchanges.length } };
      });
    },
  };
}

/** Maps a management API or socket failure to a reason; the message is redacted of `secrets`. Pure. */
export function classifyBrokerError(
  error: unknown,
  where: string,
  secrets: readonly string[],
): { reason: ConnectionFailureReason; message: string } {
  const cause = (error as { cause?: { code?: unknown } } | undefined)?.cause;
  const code = String((error as { code?: unknown })?.code ?? cause?.code ?? '');
  const raw = error instanceof Error ? error.message : String(error);
  const say = (reason: ConnectionFailureReason, text: string) => ({ reason, message: redact(text, secrets) });
  if (error instanceof BrokerHttpError) {
    if (error.status === 401) return say('AuthenticationFailed', `${where} refused the admin credentials`);
    if (error.status === 403)
      return say('InsufficientPrivileges', `the admin user may not do this on ${where}: ${raw}`);
    return say('ServerError', `${where} failed: ${raw}`);
  }
  if (code === 'ECONNREFUSED') return say('ConnectionRefused', `nothing accepts connections at ${where}`);
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return say('HostNotFound', `the host of ${where} is not found`);
  if (code === 'ETIMEDOUT' || code === 'UND_ERR_CONNECT_TIMEOUT' || /timeout|aborted/i.test(raw)) {
    return say('ConnectTimeout', `reaching ${where} timed out`);
  }
  return say('ServerError', `${where} failed: ${raw}${code ? ` (${code})` : ''}`);
}
