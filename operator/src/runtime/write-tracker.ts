// What this process wrote that its caches may not show yet, and which children someone else
// deleted. Without it, a reconcile that runs before the watch delivers our own write would see the
// old object and write again (or record a spurious repair). Readers go through fresh(cache): a view
// of the cache that answers the newer of the cached object and our last write of it.

import type { KubeObject } from '../kube/objects.ts';
import type { CacheEvent, ListQuery, ObjectCache } from './object-cache.ts';

/** At most this many deletions are remembered; the oldest is forgotten first. */
const MAX_DELETED = 10_000;

const trackKey = (object: KubeObject): string =>
  `${object.kind}/${object.metadata.namespace ?? ''}/${object.metadata.name ?? ''}`;

/** resourceVersions are opaque, but etcd's are integers: compare them when both are. */
function isOlderVersion(x: string, y: string): boolean {
  if (!/^\d+$/.test(x) || !/^\d+$/.test(y)) return false;
  return BigInt(x) < BigInt(y);
}

const isOlder = (a: KubeObject, b: KubeObject): boolean =>
  isOlderVersion(a.metadata.resourceVersion ?? '', b.metadata.resourceVersion ?? '');

/** A cache as this process last saw or wrote its objects. */
export interface FreshCache<T extends KubeObject = KubeObject> {
  get(key: string): T | undefined;
  list(query?: ListQuery): T[];
  listOwnedBy(uid: string): T[];
}

export class WriteTracker {
  private readonly written = new Map<string, KubeObject>();
  private readonly ownDeletes = new Set<string>();
  private readonly deletedByOthers = new Set<string>();
  /** The resourceVersion at which each recently deleted object was seen going. */
  private readonly tombstones = new Map<string, string>();

  /** A write of ours succeeded; `result` is the API server's answer. */
  wrote(result: KubeObject, kind: string): void {
    const object = { ...result, kind };
    const key = trackKey(object);
    // An answer that arrives after the watch showed the object deleted must not bring it back to life.
    const gone = this.tombstones.get(key);
    if (gone !== undefined && isOlderVersion(object.metadata.resourceVersion ?? '', gone)) return;
    this.tombstones.delete(key);
    this.written.set(key, object);
    this.deletedByOthers.delete(key);
  }

  /** We are about to delete `object`: its deletion is not drift. */
  deleting(object: KubeObject): void {
    this.ownDeletes.add(trackKey(object));
  }

  /** Feeds a cache event (of a watched kind whose objects carry `kind`). */
  observe(event: CacheEvent, kind: string): void {
    const object = { ...event.object, kind };
    const key = trackKey(object);
    const mine = this.written.get(key);
    if (event.type === 'deleted') {
      this.written.delete(key);
      this.tombstones.set(key, object.metadata.resourceVersion ?? '');
      if (this.tombstones.size > MAX_DELETED) {
        const oldest = this.tombstones.keys().next().value;
        if (oldest !== undefined) this.tombstones.delete(oldest);
      }
      if (this.ownDeletes.delete(key)) return;
      if (!(object.metadata.ownerReferences ?? []).some((owner) => owner.controller)) return;
      this.deletedByOthers.add(key);
      if (this.deletedByOthers.size > MAX_DELETED) {
        const oldest = this.deletedByOthers.values().next().value;
        if (oldest !== undefined) this.deletedByOthers.delete(oldest);
      }
    } else if (mine && !isOlder(object, mine)) {
      this.written.delete(key);
    }
  }

  /** The newer of the cached object and our last write of it (the cache may lag behind our writes). */
  #freshest<T extends KubeObject>(cached: T | undefined, kind: string, namespace: string, name: string): T | undefined {
    const mine = this.written.get(`${kind}/${namespace}/${name}`) as T | undefined;
    if (!mine) return cached;
    if (!cached) return mine;
    return isOlder(cached, mine) ? mine : cached;
  }

  /** `cache` (of objects of `kind`; none: not watched) with our writes it has not shown yet. */
  fresh<T extends KubeObject>(cache: ObjectCache<T> | undefined, kind: string): FreshCache<T> {
    const newest = (object: T) =>
      this.#freshest(object, kind, object.metadata.namespace ?? '', object.metadata.name ?? '') ?? object;
    return {
      get: (key) => {
        const cached = cache?.get(key);
        if (cached) return newest(cached);
        const [namespace = '', name = ''] = key.includes('/') ? key.split('/') : ['', key];
        return this.#freshest<T>(undefined, kind, namespace, name);
      },
      list: (query) => (cache?.list(query) ?? []).map(newest),
      listOwnedBy: (uid) => (cache?.listOwnedBy(uid) ?? []).map(newest),
    };
  }

  /** Our writes of objects owned by `uid` that the caches may not show yet. */
  writtenOwnedBy(uid: string): KubeObject[] {
    return [...this.written.values()].filter((object) =>
      (object.metadata.ownerReferences ?? []).some((owner) => owner.uid === uid),
    );
  }

  /** Ids (`Kind/name`) of the children in `namespace` that someone else deleted since we last wrote them. */
  deletedByOthersIn(namespace: string): Set<string> {
    const ids = new Set<string>();
    for (const key of this.deletedByOthers) {
      const [kind, ns, name] = key.split('/');
      if (ns === namespace) ids.add(`${kind}/${name}`);
    }
    return ids;
  }
}
