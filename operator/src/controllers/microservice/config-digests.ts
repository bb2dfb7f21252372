// Which ConfigMaps and Secrets the MicroServices read, and the digests of their data, so that a
// change of one re-queues the services that read it and rolls their pods.
//
// Why this shape: a ConfigMap or Secret is the user's, so no label of ours can select it, and the
// API offers no selector on a list of names. So the operator watches ConfigMaps and Secrets in the
// namespaces it watches, but keeps only the objects some MicroService references (an index built
// from the MicroService cache), and of those only a SHA-256 per key: no Secret value is held in
// memory past the watch event that carried it, none is logged. An object that becomes referenced
// after the watch passed it is read once with a GET. The cost is the watch traffic of the
// namespace's other ConfigMaps and Secrets, which are dropped on arrival.

import type { Logger } from 'pino';
import type { MicroService } from '../../api/microservice.ts';
import {
  type ConfigDigest,
  type ConfigKind,
  type ConfigRef,
  computeConfigHash,
  configReferencesOf,
  digestConfigData,
} from '../../desired/config-hash.ts';
import type { KubeClient } from '../../kube/client.ts';
import { configMapType, type KubeObject, objectKey, type ResourceType, secretType } from '../../kube/objects.ts';
import { type CacheEvent, ObjectCache } from '../../runtime/object-cache.ts';
import { Reflector, type ReflectorOptions } from '../../runtime/reflector.ts';
import { type ConditionFact, ConditionType, Reason } from './conditions.ts';

export const CONFIG_TYPES: Record<ConfigKind, ResourceType> = { ConfigMap: configMapType, Secret: secretType };

const refKey = (kind: string, namespace: string, name: string): string => `${namespace}/${kind}/${name}`;

/** MicroService keys by the ConfigMaps and Secrets they reference, kept current from the MicroService cache. */
export class ConfigReferenceIndex {
  private readonly byRef = new Map<string, Set<string>>();
  private readonly refsOf = new Map<string, string[]>();

  /** Follows the MicroService cache; call once, before it fills. */
  follow(services: ObjectCache<MicroService>): void {
    for (const ms of services.list()) this.set(ms);
    services.subscribe((event: CacheEvent<MicroService>) =>
      event.type === 'deleted' ? this.forget(objectKey(event.object)) : this.set(event.object),
    );
  }

  set(ms: MicroService): void {
    const key = objectKey(ms);
    this.forget(key);
    const namespace = ms.metadata.namespace ?? '';
    const refs = configReferencesOf(ms.spec ?? { image: '' }).map((ref) => refKey(ref.kind, namespace, ref.name));
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

  /** The keys of the MicroServices that reference `kind` `namespace/name`. */
  servicesReading(kind: string, namespace: string, name: string): string[] {
    return [...(this.byRef.get(refKey(kind, namespace, name)) ?? [])];
  }
}

/** The stored form of a referenced object: its identity, resourceVersion and per-key digests. */
export type DigestObject = KubeObject & { digests: Record<string, string> };

/**
 * An ObjectCache a reflector feeds that keeps only referenced objects, each reduced to its
 * digests on arrival. Objects confirmed absent (deleted, or a GET's 404) are remembered as such.
 */
export class DigestCache extends ObjectCache<DigestObject> {
  private readonly absent = new Set<string>();
  readonly kind: ConfigKind;
  private readonly references: ConfigReferenceIndex;

  constructor(kind: ConfigKind, references: ConfigReferenceIndex) {
    super();
    this.kind = kind;
    this.references = references;
  }

  private referenced(object: KubeObject): boolean {
    const { namespace = '', name = '' } = object.metadata;
    return this.references.servicesReading(this.kind, namespace, name).length > 0;
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
      digests: object.digests ?? digestConfigData(object as { data?: Record<string, string> }),
    });
  }

  override remove(object: KubeObject): void {
    if (this.referenced(object)) this.absent.add(objectKey(object));
    super.remove(object);
  }

  /** What is known of `namespace/name`: its digests, that it is absent, or nothing yet (undefined). */
  digest(namespace: string, name: string): ConfigDigest | undefined {
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

export interface ConfigWatchesOptions {
  client: KubeClient;
  logger: Logger;
  /** All namespaces when undefined. */
  namespace?: string;
  reflector?: Pick<ReflectorOptions, 'watchTimeoutSeconds' | 'backoff' | 'pageSize' | 'random'>;
  /** Re-queues the MicroServices whose referenced data changed. */
  enqueue: (key: string) => void;
}

/** The reference index, one digest cache per kind, and the reflectors that feed them. */
export class ConfigWatches {
  readonly references = new ConfigReferenceIndex();
  readonly caches: ConfigDigestCaches;
  private readonly reflectors: Reflector[];

  constructor(options: ConfigWatchesOptions) {
    const { client, logger, namespace } = options;
    this.caches = {
      ConfigMap: new DigestCache('ConfigMap', this.references),
      Secret: new DigestCache('Secret', this.references),
    };
    this.reflectors = Object.values(this.caches).map((cache) => {
      cache.subscribe((event) => {
        if (cache.remembering) return;
        const { namespace: ns = '', name = '' } = event.object.metadata;
        for (const key of this.references.servicesReading(cache.kind, ns, name)) options.enqueue(key);
      });
      return new Reflector({
        client,
        type: CONFIG_TYPES[cache.kind],
        cache: cache as unknown as ObjectCache,
        ...(namespace !== undefined ? { namespace } : {}),
        ...options.reflector,
        observer: {
          listed: (type, objects, durationMs) =>
            logger.info({ kind: type.kind, objects, durationMs }, 'listed referenced config (digests only)'),
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

/** The digest cache of each kind. */
export type ConfigDigestCaches = Record<ConfigKind, DigestCache>;

/** What the config step found, for plan: the hash for the pod template and the ConfigReady condition. */
export interface ConfigPlanInput {
  hash?: string;
  condition: ConditionFact;
}

/**
 * The config of `ms`: each reference looked up in its digest cache (a GET for those not known yet),
 * then the hash and the condition. Undefined when the service references no ConfigMap or Secret.
 */
export async function gatherConfig(
  ms: MicroService,
  caches: ConfigDigestCaches,
  client: KubeClient,
): Promise<ConfigPlanInput | undefined> {
  const refs = configReferencesOf(ms.spec);
  if (refs.length === 0) return undefined;
  const namespace = ms.metadata.namespace ?? '';
  const lookup = (ref: ConfigRef) => caches[ref.kind].digest(namespace, ref.name);
  await Promise.all(
    refs
      .filter((ref) => lookup(ref) === undefined)
      .map(async (ref) => {
        const object = await client.getIfExists(CONFIG_TYPES[ref.kind], ref.name, namespace);
        caches[ref.kind].remember(namespace, ref.name, object);
      }),
  );
  const result = computeConfigHash(refs, lookup);
  return { ...(result.hash ? { hash: result.hash } : {}), condition: configCondition(result.missing) };
}

/** ConfigReady: True when every referenced ConfigMap and Secret that is not optional exists. */
export function configCondition(missing: readonly string[]): ConditionFact {
  if (missing.length === 0) {
    return {
      type: ConditionType.ConfigReady,
      status: 'True',
      reason: Reason.ConfigFound,
      message: 'every referenced ConfigMap and Secret exists',
    };
  }
  return {
    type: ConditionType.ConfigReady,
    status: 'False',
    reason: Reason.ConfigNotFound,
    message:
      `${missing.join(', ')} ${missing.length === 1 ? 'does' : 'do'} not exist in the namespace; the pods wait ` +
      'for it, and roll once it is created',
  };
}
