// The API client the runtime and the reconcilers use: reads, paginated lists, watches, and the
// writes Flotilla allows itself — server-side apply (field manager `flotilla`, force), JSON merge
// patch, create, replace and delete. Never strategic merge (custom resources reject it, row 10).

import { canonicalize } from './canonical.ts';
import { isNotFound } from './errors.ts';
import type { KubeAccess } from './kubeconfig.ts';
import { apiVersionOf, collectionPath, type KubeObject, objectPath, type ResourceType } from './objects.ts';
import { createTransport, type KubeTransport, type RequestObserver } from './transport.ts';
import { readWatchEvents, type WatchEvent } from './watch-stream.ts';

export const FIELD_MANAGER = 'flotilla';

export interface ListPage<T extends KubeObject = KubeObject> {
  items: T[];
  resourceVersion: string;
  continue?: string;
}

export interface ListOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  signal?: AbortSignal;
}

export interface WatchOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
  /** Server-side timeout: the API server ends the watch cleanly after this long. */
  timeoutSeconds: number;
  allowWatchBookmarks?: boolean;
  signal?: AbortSignal;
}

export interface WriteOptions {
  subresource?: string;
  signal?: AbortSignal;
}

/** Thrown instead of sending a write while this process may not write (it is not, or no longer, the leader). */
export class WritesFencedError extends Error {
  constructor(what: string) {
    super(`${what}: this process may not write now (not the leader)`);
    this.name = 'WritesFencedError';
  }
}

export interface KubeClientOptions {
  fieldManager?: string;
  /** Asked before every write; when it returns false the write is refused (leader election). */
  canWrite?: () => boolean;
}

export class KubeClient {
  readonly transport: KubeTransport;
  readonly fieldManager: string;
  private readonly canWrite: () => boolean;

  constructor(transport: KubeTransport, options: KubeClientOptions = {}) {
    this.transport = transport;
    this.fieldManager = options.fieldManager ?? FIELD_MANAGER;
    this.canWrite = options.canWrite ?? (() => true);
  }

  /** The same connection, with another write guard (e.g. the leader elector's own client has none). */
  withWriteGuard(canWrite: () => boolean): KubeClient {
    return new KubeClient(this.transport, { fieldManager: this.fieldManager, canWrite });
  }

  close(): Promise<void> {
    return this.transport.close();
  }

  async get<T extends KubeObject = KubeObject>(type: ResourceType, name: string, namespace?: string): Promise<T> {
    const response = await this.transport.request({ verb: 'GET', path: objectPath(type, name, namespace) });
    return (await response.body.json()) as T;
  }

  /** GET, with undefined for an object that does not exist. */
  async getIfExists<T extends KubeObject = KubeObject>(
    type: ResourceType,
    name: string,
    namespace?: string,
  ): Promise<T | undefined> {
    try {
      return await this.get<T>(type, name, namespace);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /** One page of a list; items get the apiVersion and kind the API server leaves out of list items. */
  async listPage<T extends KubeObject = KubeObject>(
    type: ResourceType,
    options: ListOptions = {},
  ): Promise<ListPage<T>> {
    const response = await this.transport.request({
      verb: 'LIST',
      path: collectionPath(type, options.namespace),
      query: {
        labelSelector: options.labelSelector,
        fieldSelector: options.fieldSelector,
        limit: options.limit,
        continue: options.continue,
      },
      signal: options.signal,
    });
    const list = (await response.body.json()) as {
      items: T[] | null;
      metadata: { resourceVersion: string; continue?: string };
    };
    const apiVersion = apiVersionOf(type);
    const items = list.items ?? [];
    for (const item of items) {
      item.apiVersion ??= apiVersion;
      item.kind ??= type.kind;
    }
    return { items, resourceVersion: list.metadata.resourceVersion, continue: list.metadata.continue || undefined };
  }

  /** Every object, page by page (`limit`/`continue`), with the resourceVersion of the list. */
  async list<T extends KubeObject = KubeObject>(type: ResourceType, options: ListOptions = {}): Promise<ListPage<T>> {
    const items: T[] = [];
    let next: string | undefined;
    let resourceVersion = '';
    do {
      const page = await this.listPage<T>(type, { ...options, limit: options.limit ?? 500, continue: next });
      for (const item of page.items) items.push(item);
      resourceVersion = page.resourceVersion;
      next = page.continue;
    } while (next);
    return { items, resourceVersion };
  }

  /** Opens a watch; the returned iterator ends when the server closes the watch cleanly. */
  async watch<T extends KubeObject = KubeObject>(
    type: ResourceType,
    options: WatchOptions,
  ): Promise<AsyncGenerator<WatchEvent<T>>> {
    const path = collectionPath(type, options.namespace);
    const response = await this.transport.request({
      verb: 'WATCH',
      path,
      query: {
        watch: 1,
        resourceVersion: options.resourceVersion,
        timeoutSeconds: options.timeoutSeconds,
        allowWatchBookmarks: options.allowWatchBookmarks ?? true,
        labelSelector: options.labelSelector,
        fieldSelector: options.fieldSelector,
      },
      signal: options.signal,
      // The server closes the watch itself; a silence much longer than its timeout means a dead connection.
      bodyTimeoutMs: (options.timeoutSeconds + 60) * 1000,
    });
    return readWatchEvents<T>(response.body, path);
  }

  async create<T extends KubeObject>(type: ResourceType, object: T, options: WriteOptions = {}): Promise<T> {
    return this.write<T>('CREATE', collectionPath(type, object.metadata.namespace), object, undefined, options, {
      fieldManager: this.fieldManager,
    });
  }

  /** PUT: replaces the whole object; a stale metadata.resourceVersion fails with 409 (conflict). */
  async replace<T extends KubeObject>(type: ResourceType, object: T, options: WriteOptions = {}): Promise<T> {
    const path = objectPath(type, requireName(object), object.metadata.namespace, options.subresource);
    return this.write<T>('UPDATE', path, object, undefined, options, { fieldManager: this.fieldManager });
  }

  /**
   * Server-side apply of `object` — which must hold only the fields Flotilla owns — with field
   * manager `flotilla` and force (we are the one writer of those fields).
   */
  async apply<T extends KubeObject>(type: ResourceType, object: KubeObject, options: WriteOptions = {}): Promise<T> {
    const body = { ...object, apiVersion: apiVersionOf(type), kind: type.kind };
    const path = objectPath(type, requireName(object), object.metadata.namespace, options.subresource);
    return this.write<T>('APPLY', path, body, 'application/apply-patch+yaml', options, {
      fieldManager: this.fieldManager,
      force: true,
    });
  }

  /** JSON merge patch (RFC 7386); put metadata.resourceVersion in the patch for an optimistic lock. */
  async mergePatch<T extends KubeObject>(
    type: ResourceType,
    name: string,
    namespace: string | undefined,
    patch: unknown,
    options: WriteOptions = {},
  ): Promise<T> {
    const path = objectPath(type, name, namespace, options.subresource);
    return this.write<T>('PATCH', path, patch, 'application/merge-patch+json', options, {
      fieldManager: this.fieldManager,
    });
  }

  async delete(
    type: ResourceType,
    name: string,
    namespace?: string,
    body: { propagationPolicy?: string; preconditions?: { uid?: string; resourceVersion?: string } } = {},
  ): Promise<void> {
    const path = objectPath(type, name, namespace);
    await this.write('DELETE', path, { kind: 'DeleteOptions', apiVersion: 'v1', ...body }, undefined, {}, {});
  }

  private async write<T>(
    verb: 'CREATE' | 'UPDATE' | 'PATCH' | 'APPLY' | 'DELETE',
    path: string,
    body: unknown,
    contentType: string | undefined,
    options: WriteOptions,
    query: Record<string, string | boolean>,
  ): Promise<T> {
    if (!this.canWrite()) throw new WritesFencedError(`${verb} ${path}`);
    // Written in canonical form (Date → RFC 3339 in seconds), so what we read back compares equal.
    const payload = canonicalize(body);
    const response = await this.transport.request({
      verb,
      path,
      body: payload,
      contentType,
      query,
      signal: options.signal,
    });
    return (await response.body.json()) as T;
  }
}

function requireName(object: KubeObject): string {
  const { name } = object.metadata;
  if (!name) throw new Error(`${object.kind ?? 'object'} without metadata.name`);
  return name;
}

/** A client over a new transport (one keep-alive agent) for `kubeConfig`. */
export async function createKubeClient(
  kubeConfig: KubeAccess,
  options: KubeClientOptions & { observer?: RequestObserver } = {},
): Promise<KubeClient> {
  const transport = await createTransport(kubeConfig, { observer: options.observer });
  return new KubeClient(transport, options);
}
