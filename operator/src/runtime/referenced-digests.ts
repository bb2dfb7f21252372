// Objects that other objects reference by name (a MicroService's ConfigMaps and Secrets), watched
// but kept only while referenced and only as a digest per key, so that a change of one re-queues
// the objects that read it.
//
// Why this shape: a referenced object is the user's, so no label of ours can select it, and the
// API offers no selector on a list of names. So the watch covers every object of the kind in the
// watched namespaces, but keeps only those something references (an index built from the
// referrers' cache), and of those only a SHA-256 per key: no Secret value is held in memory past
// the watch event that carried it, none is logged. An object that becomes referenced after the
// watch passed it is read once with a GET (DigestCache.remember). The cost is the watch traffic of
// the namespace's other objects, which are dropped on arrival.
import type { Logger } from 'pino';
import type { KubeClient } from '../kube/client.ts';
import { type KubeObject, objectKey, type ResourceType } from '../kube/objects.ts';
import { type CacheEvent, ObjectCache } from './object-cache.ts';
import { Reflector, type ReflectorOptions } from './reflector.ts';

const refKey = (kind: string, namespace: string, name: string): string => `${namespace}/${kind}/${name}`;

/** What an object references: the kind and name of each object of its namespace it reads. */
export type ReferencesOf<T extends KubeObject> = (object: T) => readonly { kind: string; name: string }[];

/** Referrer keys by the objects they reference, kept current from the referrers' cache. */
export class ReferenceIndex<T extends KubeObject> {
  private readonly byRef = new Map<string, Set<string>>();
  private readonly refsOf = new Map<string, string[]>();
  private readonly referencesOf: ReferencesOf<T>;

  constructor(referencesOf: ReferencesOf<T>) {
    this.referencesOf = referencesOf;
  }

  /** Follows the referrers' cache; call once, before it fills. */
  follow(referrers: ObjectCache<T>): void {
    for (const object of referrers.list()) this.set(object);
    referrers.subscribe((event: CacheEvent<T>) =>
      event.type === 'deleted' ? this.forget(objectKey(event.object)) : this.set(event.object),
    );
  }

  set(referrer: T): void {
    const key = objectKey(referrer);
    this.forget(key);
    const namespace = referrer.metadata.namespace ?? '';
    const refs = this.referencesOf(referrer).map((ref) => refKey(ref.kind, namespace, ref.name));
    this.refsOf.set(key, refs);
    for (const ref of refs) this.byRef.set(ref, (this.byRef.get(ref) ?? new Set()).add(key));
  }

  forget(key: string): void {
    for (const ref of this.refsOf.get(key) ?? []) {
      const keys = this.byRef.get(ref);
      keys?.delete(key);
      if (keys?.size === 0) this.byRef.delete(ref);
    }
    this.refsOf.delete(key);
  }

  /** The keys of the referrers that reference `kind` `namespace/name`. */
  referrersOf(kind: string, namespace: string, name: string): string[] {
    return [...(this.byRef.get(refKey(kind, namespace, name)) ?? [])];
  }
}

/** The stored form of a referenced object: its identity, resourceVersion and per-key digests. */
export type DigestObject = KubeObject & { digests: Record<string, string> };

/** What is known of a referenced object: its per-key digests, or that it does not exist. */
export type Digest = { exists: true; keys: Record<string, string> } | { exists: false };

/** An object's data as per-key digests. */
export type DigestOf = (object: KubeObject) => Record<string, string>;

/**
 * An ObjectCache a reflector feeds that keeps only referenced objects, each reduced to its
 * digests on arrival. Objects confirmed absent (deleted, or a GET's 404) are remembered as such.
 */
export class DigestCache extends ObjectCache<DigestObject> {
  private readonly absent = new Set<string>();
  readonly kind: string;
  private readonly references: Pick<ReferenceIndex<KubeObject>, 'referrersOf'>;
  private readonly digestOf: DigestOf;

  constructor(kind: string, references: Pick<ReferenceIndex<KubeObject>, 'referrersOf'>, digestOf: DigestOf) {
    super();
    this.kind = kind;
    this.references = references;
    this.digestOf = digestOf;
  }

  private referenced(object: KubeObject): boolean {
    const { namespace = '', name = '' } = object.metadata;
    return this.references.referrersOf(this.kind, namespace, name).length > 0;
  }

  override upsert(object: DigestObject): void {
    if (!this.referenced(object)) {
      if (this.get(objectKey(object))) super.remove(object);
      return;
    }
    this.store(object);
  }

  /** Keeps `object` as its identity, resourceVersion and digests. */
  private store(object: DigestObject): void {
    const { name, namespace, resourceVersion, uid } = object.metadata;
    this.absent.delete(objectKey(object));
    super.upsert({
      metadata: { name, namespace, resourceVersion, uid },
      digests: object.digests ?? this.digestOf(object),
    });
  }

  override remove(object: KubeObject): void {
    if (this.referenced(object)) this.absent.add(objectKey(object));
    super.remove(object);
  }

  /** What is known of `namespace/name`: its digests, that it is absent, or nothing yet (undefined). */
  digest(namespace: string, name: string): Digest | undefined {
    const key = `${namespace}/${name}`;
    const stored = this.get(key);
    if (stored) return { exists: true, keys: stored.digests };
    return this.absent.has(key) ? { exists: false } : undefined;
  }

  /** True while a GET's answer is stored: the reconcile that made the GET needs no second one. */
  remembering = false;

  /** A GET's answer, kept unless the watch has told something since (the watch is never older). */
  remember(namespace: string, name: string, object: KubeObject | undefined): void {
    if (this.digest(namespace, name)) return;
    if (!object) {
      this.absent.add(`${namespace}/${name}`);
      return;
    }
    this.remembering = true;
    try {
      // Stored even if the index has not caught up yet: a service asked for it.
      this.store(object as DigestObject);
    } finally {
      this.remembering = false;
    }
  }
}

export interface ReferencedDigestsOptions<T extends KubeObject> {
  /** The kinds watched, by kind name; their objects must be of the referrers' namespaces. */
  types: readonly ResourceType[];
  referencesOf: ReferencesOf<T>;
  digestOf: DigestOf;
  client: KubeClient;
  logger: Logger;
  /** All namespaces when undefined. */
  namespace?: string;
  reflector?: Pick<ReflectorOptions, 'watchTimeoutSeconds' | 'backoff' | 'pageSize' | 'random'>;
  /** Re-queues the referrers whose referenced data changed. */
  enqueue: (key: string) => void;
}

/** The reference index, one digest cache per kind, and the reflectors that feed them. */
export class ReferencedDigests<T extends KubeObject> {
  readonly references: ReferenceIndex<T>;
  /** The digest cache of each kind, by kind name. */
  readonly caches: Record<string, DigestCache>;
  private readonly reflectors: Reflector[];

  constructor(options: ReferencedDigestsOptions<T>) {
    const { client, logger, namespace } = options;
    this.references = new ReferenceIndex(options.referencesOf);
    this.caches = Object.fromEntries(
      options.types.map((type) => [type.kind, new DigestCache(type.kind, this.references, options.digestOf)]),
    );
    this.reflectors = options.types.map((type) => {
      const cache = this.caches[type.kind] as DigestCache;
      cache.subscribe((event) => {
        if (cache.remembering) return;
        const { namespace: ns = '', name = '' } = event.object.metadata;
        for (const key of this.references.referrersOf(cache.kind, ns, name)) options.enqueue(key);
      });
      return new Reflector({
        client,
        type,
        cache: cache as unknown as ObjectCache,
        ...(namespace !== undefined ? { namespace } : {}),
        ...options.reflector,
        observer: {
          listed: (type, objects, durationMs) =>
            logger.info({ kind: type.kind, objects, durationMs }, 'listed referenced objects (digests only)'),
        },
      });
    });
  }

  start(): void {
    for (const reflector of this.reflectors) reflector.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.reflectors.map((reflector) => reflector.stop()));
  }
}
