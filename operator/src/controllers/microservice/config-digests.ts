// Which ConfigMaps and Secrets the MicroServices read, and the digests of their data, so that a
// change of one re-queues the services that read it and rolls their pods (the watching itself, and
// why it keeps only digests, is runtime/referenced-digests.ts).
import type { MicroService } from '../../api/microservice.ts';
import {
  type ConfigKind,
  type ConfigRef,
  computeConfigHash,
  configReferencesOf,
  digestConfigData,
} from '../../desired/config-hash.ts';
import type { KubeClient } from '../../kube/client.ts';
import { configMapType, type KubeObject, type ResourceType, secretType } from '../../kube/objects.ts';
import { type ConditionFact, ConditionType, Reason } from '../../release/conditions.ts';
import {
  type DigestCache,
  ReferencedDigests,
  type ReferencedDigestsOptions,
} from '../../runtime/referenced-digests.ts';

const CONFIG_TYPES: Record<ConfigKind, ResourceType> = { ConfigMap: configMapType, Secret: secretType };

/** The digest cache of each kind. */
export type ConfigDigestCaches = Record<ConfigKind, DigestCache>;

export type ConfigWatches = ReferencedDigests<MicroService> & { caches: ConfigDigestCaches };

/** The watches of the ConfigMaps and Secrets the MicroServices reference. */
export function watchConfig(
  options: Omit<ReferencedDigestsOptions<MicroService>, 'types' | 'referencesOf' | 'digestOf'>,
): ConfigWatches {
  return new ReferencedDigests<MicroService>({
    ...options,
    types: Object.values(CONFIG_TYPES),
    referencesOf: (ms) => configReferencesOf(ms.spec ?? { image: '' }),
    digestOf: (object) => digestConfigData(object as KubeObject & { data?: Record<string, string> }),
  }) as ConfigWatches;
}

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
