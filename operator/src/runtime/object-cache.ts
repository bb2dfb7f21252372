// The cache a reflector feeds: one kind's objects by key, with indexes by namespace, owner uid and
// label. Objects are stored once, frozen, managedFields stripped; get and list hand out the stored
// objects themselves (never a copy of the store) — callers must not, and cannot, mutate them.
import { stripManagedFields } from '../kube/canonical.ts';
import { type KubeObject, objectKey } from '../kube/objects.ts';

export type CacheEventType = 'added' | 'updated' | 'deleted';

export interface CacheEvent<T extends KubeObject = KubeObject> {
  type: CacheEventType;
  object: T;
  /** The object before an update. */
  previous?: T;
}

/** Listeners run synchronously on every change; they should only enqueue keys (row 7). */
export type CacheListener<T extends KubeObject = KubeObject> = (event: CacheEvent<T>) => void;

export interface ListQuery {
  namespace?: string;
  /** Equality selector: every label must match. */
  labels?: Record<string, string>;
}

class SetIndex {
  private readonly sets = new Map<string, Set<string>>();

  add(value: string, key: string): void {
    let set = this.sets.get(value);
    if (!set) {
      set = new Set();
      this.sets.set(value, set);
    }
    set.add(key);
  }

  remove(value: string, key: string): void {
    const set = this.sets.get(value);
    if (!set) return;
    set.delete(key);
    if (set.size === 0) this.sets.delete(value);
  }

  get(value: string): ReadonlySet<string> {
    return this.sets.get(value) ?? EMPTY;
  }
}

const EMPTY: ReadonlySet<string> = new Set();

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const field of Object.values(value)) deepFreeze(field);
  }
  return value;
}

export class ObjectCache<T extends KubeObject = KubeObject> {
  private readonly objects = new Map<string, T>();
  private readonly byNamespace = new SetIndex();
  private readonly byOwner = new SetIndex();
  private readonly byLabel = new SetIndex();
  private readonly listeners = new Set<CacheListener<T>>();
  private readonly onListenerError: (error: unknown) => void;
  private readonly project: ((object: T) => T) | undefined;

  /**
   * `project` keeps only what the cache's readers need of each object (its identity, labels and
   * resourceVersion must stay): a cache of many large objects read for a few fields.
   */
  constructor({
    onListenerError = (error: unknown) => console.error(error),
    project,
  }: { onListenerError?: (error: unknown) => void; project?: (object: T) => T } = {}) {
    this.onListenerError = onListenerError;
    this.project = project;
  }

  get size(): number {
    return this.objects.size;
  }

  /** The object at `namespace/name` (or `name` when cluster-scoped). */
  get(key: string): T | undefined {
    return this.objects.get(key);
  }

  keys(): IterableIterator<string> {
    return this.objects.keys();
  }

  /** Objects matching `query`, found through the indexes. */
  list(query: ListQuery = {}): T[] {
    const candidates: ReadonlySet<string>[] = [];
    if (query.namespace !== undefined) candidates.push(this.byNamespace.get(query.namespace));
    for (const [name, value] of Object.entries(query.labels ?? {}))
      candidates.push(this.byLabel.get(`${name}=${value}`));
    if (candidates.length === 0) return [...this.objects.values()];
    candidates.sort((a, b) => a.size - b.size);
    const [smallest, ...others] = candidates as [ReadonlySet<string>, ...ReadonlySet<string>[]];
    const out: T[] = [];
    for (const key of smallest) {
      if (others.every((set) => set.has(key))) {
        const object = this.objects.get(key);
        if (object) out.push(object);
      }
    }
    return out;
  }

  /** Objects with an owner reference to `uid`. */
  listOwnedBy(uid: string): T[] {
    const out: T[] = [];
    for (const key of this.byOwner.get(uid)) {
      const object = this.objects.get(key);
      if (object) out.push(object);
    }
    return out;
  }

  subscribe(listener: CacheListener<T>): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Adds or replaces `object` (taking ownership of it); emits unless its resourceVersion is unchanged. */
  upsert(received: T): void {
    const key = objectKey(received);
    const previous = this.objects.get(key);
    if (previous && previous.metadata.resourceVersion === received.metadata.resourceVersion) return;
    const object = this.project ? this.project(received) : received;
    deepFreeze(stripManagedFields(object));
    if (previous) this.unindex(key, previous);
    this.objects.set(key, object);
    this.index(key, object);
    this.emit(previous ? { type: 'updated', object, previous } : { type: 'added', object });
  }

  remove(object: KubeObject): void {
    const key = objectKey(object);
    const previous = this.objects.get(key);
    if (!previous) return;
    this.unindex(key, previous);
    this.objects.delete(key);
    this.emit({ type: 'deleted', object: previous });
  }

  /** Makes the cache equal `objects` (a fresh list), emitting one event per difference. */
  replace(objects: T[]): void {
    const seen = new Set<string>();
    for (const object of objects) {
      seen.add(objectKey(object));
      this.upsert(object);
    }
    for (const [key, object] of this.objects) {
      if (!seen.has(key)) this.remove(object);
    }
  }

  private index(key: string, object: T): void {
    this.byNamespace.add(object.metadata.namespace ?? '', key);
    for (const owner of object.metadata.ownerReferences ?? []) this.byOwner.add(owner.uid, key);
    for (const [name, value] of Object.entries(object.metadata.labels ?? {})) this.byLabel.add(`${name}=${value}`, key);
  }

  private unindex(key: string, object: T): void {
    this.byNamespace.remove(object.metadata.namespace ?? '', key);
    for (const owner of object.metadata.ownerReferences ?? []) this.byOwner.remove(owner.uid, key);
    for (const [name, value] of Object.entries(object.metadata.labels ?? {}))
      this.byLabel.remove(`${name}=${value}`, key);
  }

  private emit(event: CacheEvent<T>): void {
    for (const listener of this.listeners) {
      try {
        const result: unknown = listener(event);
        if (result instanceof Promise) result.catch(this.onListenerError);
      } catch (error) {
        this.onListenerError(error);
      }
    }
  }
}
