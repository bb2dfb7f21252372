// What the provisioners that make one user per service on a DatabaseServer (the Redis cache, the RabbitMQ
// broker) share: their options, finding the server of their engine, the outcome of a failure, and the end of a
// release (give up after a bounded time, then drop the finalizer). Each says its own condition and Event reasons.
import type { MicroService } from '../api/microservice.ts';
import { microServiceType } from '../api/resource-types.ts';
import { sha256Hex } from '../common/hash.ts';
import type { KubeClient } from '../kube/client.ts';
import { isNotFound } from '../kube/errors.ts';
import type { EventRecord } from '../kube/events.ts';
import { addFinalizer, hasFinalizer, removeFinalizer } from '../kube/finalizers.ts';
import type { KubeObject } from '../kube/objects.ts';
import type { Provisioned, ProvisionedField, Released } from './provisioner.ts';
import { ProvisionReason } from './reasons.ts';
import { ProvisionFailure } from './secrets.ts';
import { checkNamespaceAllowed, type TenancySpec } from './tenancy.ts';

export interface ServerUserOptions {
  client: KubeClient;
  /** The DatabaseServers, cluster-scoped, by name. */
  databaseServers: { get(name: string): KubeObject | undefined };
  /** The Namespaces, for servers that admit namespaces by label; without, such servers admit none. */
  namespaces?: { get(name: string): KubeObject | undefined };
  /** Told of every write to the MicroService (the finalizer), so the next read is not stale. */
  onWrite?: (written: KubeObject) => void;
  /** Milliseconds since the epoch; injectable for tests. */
  now?: () => number;
  /** Give up reaching an unreachable server this long after deletionTimestamp (default 5 min). */
  releaseTimeoutMs?: number;
}

/** A DatabaseServer's spec as the user provisioners read it. */
export interface ServerOfEngine {
  name: string;
  host: string;
  port: number;
  managementUrl: string;
  adminSecretRef: { namespace: string; name: string };
  tenancy: TenancySpec;
}

/**
 * The DatabaseServer `serverRef`, which must have `engine`: else a failure with reason ServerNotFound or
 * `wrongEngine`, saying that `field` needs such a server.
 */
export function serverOfEngine(
  servers: ServerUserOptions['databaseServers'],
  serverRef: string,
  engine: string,
  wrongEngine: string,
  field: string,
): ServerOfEngine {
  const server = servers.get(serverRef);
  if (!server) {
    throw new ProvisionFailure(ProvisionReason.ServerNotFound, `DatabaseServer ${serverRef} does not exist`, false);
  }
  const spec = (server.spec ?? {}) as Partial<ServerOfEngine> & { engine?: string };
  if (spec.engine !== engine) {
    throw new ProvisionFailure(
      wrongEngine,
      `DatabaseServer ${serverRef} has engine ${spec.engine}; ${field} needs one with engine ${engine}`,
      false,
    );
  }
  return {
    name: serverRef,
    host: spec.host ?? '',
    port: spec.port ?? 0,
    managementUrl: spec.managementUrl ?? '',
    adminSecretRef: spec.adminSecretRef ?? { namespace: '', name: '' },
    tenancy: spec as TenancySpec,
  };
}

/**
 * The DatabaseServer `serverRef` of `engine` (serverOfEngine), once its allowedNamespaces admit `namespace`:
 * else a failure with reason NamespaceNotAllowed.
 */
export function admittedServer(
  options: Pick<ServerUserOptions, 'databaseServers' | 'namespaces'>,
  serverRef: string,
  namespace: string,
  engine: { engine: string; wrongEngine: string; field: string },
): ServerOfEngine {
  const server = serverOfEngine(options.databaseServers, serverRef, engine.engine, engine.wrongEngine, engine.field);
  const labels = options.namespaces?.get(namespace)?.metadata.labels;
  const verdict = checkNamespaceAllowed(server.name, server.tenancy, namespace, labels);
  if (!verdict.allowed) throw new ProvisionFailure(ProvisionReason.NamespaceNotAllowed, verdict.message, false);
  return server;
}

/** Adds `finalizer` to the MicroService and tells onWrite (before anything exists that would need releasing). */
export async function claimFinalizer(
  options: Pick<ServerUserOptions, 'client' | 'onWrite'>,
  ms: MicroService,
  finalizer: string,
): Promise<void> {
  // Evaluated before onWrite: `onWrite?.(await …)` would skip the write when there is no onWrite.
  const written = await addFinalizer(options.client, microServiceType, ms, finalizer);
  options.onWrite?.(written);
}

/** Holding `finalizer` while being deleted, or after what it guards was removed from the spec (`wanted` false). */
export function mustReleaseFinalizer(ms: MicroService, finalizer: string, wanted: boolean): boolean {
  return hasFinalizer(ms, finalizer) && (ms.metadata.deletionTimestamp !== undefined || !wanted);
}

/** A SHA-256 of a Secret's data: the pods roll when it changes. Pure. */
export const secretDataHash = (data: Record<string, string>) =>
  sha256Hex(JSON.stringify(Object.entries(data).sort(([a], [b]) => a.localeCompare(b))));

/** The Normal Event of a provisioning that did something (`done`); none when nothing was done. Pure. */
export function provisionedEvents(
  done: readonly string[],
  message: string,
  reasons: { adopted: string; provisioned: string },
) {
  if (done.length === 0) return [];
  // AdoptUser: the user existed without Flotilla's mark, and the server's spec.adoption let it be taken.
  const reason = done.includes('AdoptUser') ? reasons.adopted : reasons.provisioned;
  return [{ type: 'Normal' as const, reason, message: `${message} (${done.join(', ')})` }];
}

/**
 * The outcome of a failed provisioning: the condition False with the failure's reason, the status kept, and a
 * Warning Event only when it becomes the reason (not again on every reconcile that finds it unchanged). Pure.
 */
export function failedProvision<F extends ProvisionedField>(
  ms: MicroService,
  field: F,
  conditionType: string,
  eventReason: string,
  error: ProvisionFailure,
): Provisioned<F> {
  const shown = (ms.status?.conditions ?? []).find((c) => c.type === conditionType);
  const news = shown?.status !== 'False' || shown.reason !== error.reason || shown.message !== error.message;
  return {
    field,
    condition: { type: conditionType, status: 'False', reason: error.reason, message: error.message },
    status: undefined,
    events: news ? [{ type: 'Warning', reason: eventReason, message: `${error.reason}: ${error.message}` }] : [],
    retry: error.retry,
  };
}

/** What a user's release is about, named in its Events; `drop` may name it more precisely once it knows more. */
export interface ReleaseSubject {
  what: string;
}

/**
 * The release of a service's user on a server, holding `finalizer`: `drop` deletes it (or keeps it) and says so
 * in its Event. A failure that may pass is retried (not done) while the deletion is younger than the timeout,
 * else given up with a `leftBehind` Event; then the finalizer goes.
 */
export async function releaseUser(
  options: Pick<ServerUserOptions, 'client' | 'onWrite' | 'now' | 'releaseTimeoutMs'>,
  ms: MicroService,
  finalizer: string,
  reasons: { failed: string; leftBehind: string },
  subject: ReleaseSubject,
  drop: (subject: ReleaseSubject) => Promise<EventRecord>,
): Promise<Released> {
  if (!hasFinalizer(ms, finalizer)) return { done: true, events: [] };
  let event: EventRecord;
  try {
    event = await drop(subject);
  } catch (error) {
    if (!(error instanceof ProvisionFailure)) throw error;
    const failed = releaseFailed(ms, error, subject.what, options, reasons);
    if ('retry' in failed) return failed.retry;
    event = failed.gaveUp;
  }
  try {
    const written = await removeFinalizer(options.client, microServiceType, ms, finalizer);
    options.onWrite?.(written);
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  return { done: true, events: [event] };
}

function releaseFailed(
  ms: MicroService,
  error: ProvisionFailure,
  what: string,
  options: Pick<ServerUserOptions, 'now' | 'releaseTimeoutMs'>,
  reasons: { failed: string; leftBehind: string },
): { retry: Released } | { gaveUp: EventRecord } {
  const now = (options.now ?? Date.now)();
  const since = Date.parse(ms.metadata.deletionTimestamp ?? '') || now;
  const timeoutMs = options.releaseTimeoutMs ?? 5 * 60_000;
  if (error.retry && now - since < timeoutMs) {
    const message = `could not delete ${what}: ${error.reason}: ${error.message}`;
    return {
      retry: {
        done: false,
        events: [{ type: 'Warning', reason: reasons.failed, message }],
        ...(ms.metadata.deletionTimestamp ? { retryNotAfterMs: Math.max(100, timeoutMs - (now - since)) } : {}),
      },
    };
  }
  const message = `gave up deleting ${what}: ${error.reason}: ${error.message}; delete them by hand`;
  return { gaveUp: { type: 'Warning', reason: reasons.leftBehind, message } };
}
