// The pod surface of a MicroService beyond its one container: files as volumes, envFrom, sidecars
// and init containers, scheduling, lifecycle and the security context. Pure builders; each leaves
// a field out when the spec does not set it, so that a service that uses none of them keeps its
// pod template (and its revision).
import type {
  V1Affinity,
  V1Container,
  V1EnvFromSource,
  V1Lifecycle,
  V1PodSecurityContext,
  V1PodSpec,
  V1SecurityContext,
  V1TopologySpreadConstraint,
  V1Volume,
  V1VolumeMount,
} from '@kubernetes/client-node';
import type { EnvFromSpec, ExtraContainerSpec } from '../api/container.ts';
import type { MicroServiceSpec } from '../api/microservice.ts';
import type { FileSpec, SecurityContextSpec } from '../api/pod.ts';
import { InvalidSpecError, InvalidSpecReason } from './errors.ts';

/** The volume of the `index`th entry of spec.files. */
export const fileVolumeName = (index: number): string => `files-${index}`;

/** The volumes of spec.files: one ConfigMap or Secret volume each. */
export function buildFileVolumes(files: readonly FileSpec[]): V1Volume[] {
  return files.map((file, index) => {
    const source = {
      ...(file.items ? { items: file.items.map((item) => ({ ...item })) } : {}),
      ...(file.defaultMode !== undefined ? { defaultMode: file.defaultMode } : {}),
      ...(file.optional !== undefined ? { optional: file.optional } : {}),
    };
    return file.configMap !== undefined
      ? { name: fileVolumeName(index), configMap: { name: file.configMap, ...source } }
      : { name: fileVolumeName(index), secret: { secretName: file.secret ?? '', ...source } };
  });
}

/** Read-only mounts of the entries of spec.files at `paths` (every entry when undefined), at their own path. */
export function buildFileMounts(files: readonly FileSpec[], paths?: readonly string[]): V1VolumeMount[] {
  const wanted = paths ?? files.map((file) => file.path);
  return wanted.map((path) => {
    const index = files.findIndex((file) => file.path === path);
    if (index < 0) {
      throw new InvalidSpecError(InvalidSpecReason.UnknownFile, `${path} is not the path of an entry of spec.files`);
    }
    return { name: fileVolumeName(index), mountPath: path, readOnly: true };
  });
}

/** envFrom as core/v1 has it (rollOnChange is Flotilla's). */
export function buildEnvFrom(envFrom: readonly EnvFromSpec[]): V1EnvFromSource[] {
  return envFrom.map(({ rollOnChange: _roll, ...source }) => structuredClone(source));
}

/** The restricted Pod Security Standard for a container, with a read-only root filesystem when asked. */
export function buildContainerSecurityContext(spec: SecurityContextSpec | undefined): V1SecurityContext {
  return {
    allowPrivilegeEscalation: false,
    capabilities: { drop: ['ALL'] },
    runAsNonRoot: true,
    seccompProfile: { type: 'RuntimeDefault' },
    ...(spec?.readOnlyRootFilesystem !== undefined ? { readOnlyRootFilesystem: spec.readOnlyRootFilesystem } : {}),
  };
}

/** The restricted Pod Security Standard for the pod, with the user, group and fsGroup the spec sets. */
export function buildPodSecurityContext(spec: SecurityContextSpec | undefined): V1PodSecurityContext {
  return {
    runAsNonRoot: true,
    seccompProfile: { type: 'RuntimeDefault' },
    ...(spec?.runAsUser !== undefined ? { runAsUser: spec.runAsUser } : {}),
    ...(spec?.runAsGroup !== undefined ? { runAsGroup: spec.runAsGroup } : {}),
    ...(spec?.fsGroup !== undefined ? { fsGroup: spec.fsGroup } : {}),
  };
}

/** The preStop sleep that lets proxies and the mesh stop sending requests before SIGTERM. */
export function buildLifecycle(spec: MicroServiceSpec): V1Lifecycle | undefined {
  const seconds = spec.lifecycle?.preStopSleepSeconds;
  return seconds === undefined ? undefined : { preStop: { sleep: { seconds } } };
}

/** A sidecar or init container: the curated fields, the restricted security context, its files. */
export function buildExtraContainer(
  container: ExtraContainerSpec,
  spec: MicroServiceSpec,
  toEnv: (env: NonNullable<ExtraContainerSpec['env']>) => V1Container['env'],
): V1Container {
  const { files, env, resources, ...rest } = structuredClone(container);
  return {
    ...rest,
    ...(env ? { env: toEnv(env) } : {}),
    ...(resources
      ? {
          resources: Object.fromEntries(
            Object.entries(resources).map(([kind, list]) => [
              kind,
              Object.fromEntries(Object.entries(list ?? {}).map(([key, value]) => [key, String(value)])),
            ]),
          ),
        }
      : {}),
    ...(files && files.length > 0 ? { volumeMounts: buildFileMounts(spec.files ?? [], files) } : {}),
    securityContext: buildContainerSecurityContext(spec.securityContext),
  };
}

/**
 * The init containers: the sidecars first, as native sidecars (restartPolicy Always: they start
 * before the service container, and before the init containers that may need them, and stop after
 * it), then the init containers.
 */
export function buildInitContainers(
  spec: MicroServiceSpec,
  toEnv: (env: NonNullable<ExtraContainerSpec['env']>) => V1Container['env'],
): V1Container[] {
  return [
    ...(spec.sidecars ?? []).map((c) => ({ ...buildExtraContainer(c, spec, toEnv), restartPolicy: 'Always' })),
    ...(spec.initContainers ?? []).map((c) => buildExtraContainer(c, spec, toEnv)),
  ];
}

/** The spread constraints of the short form, with the service's own selector filled in. */
export function buildTopologySpread(
  spec: MicroServiceSpec,
  selector: Record<string, string>,
): V1TopologySpreadConstraint[] | undefined {
  const spread = spec.scheduling?.topologySpread;
  if (!spread || spread.length === 0) return undefined;
  return spread.map((t) => ({
    maxSkew: t.maxSkew,
    topologyKey: t.topologyKey,
    whenUnsatisfiable: t.whenUnsatisfiable ?? 'DoNotSchedule',
    labelSelector: { matchLabels: { ...selector } },
  }));
}

/** The pod-spec fields of scheduling, service account, pull secrets and lifecycle that the spec sets. */
export function buildPodSpecExtras(spec: MicroServiceSpec, selector: Record<string, string>): Partial<V1PodSpec> {
  const scheduling = spec.scheduling ?? {};
  const spread = buildTopologySpread(spec, selector);
  const grace = spec.lifecycle?.terminationGracePeriodSeconds;
  return {
    ...(spec.serviceAccountName !== undefined ? { serviceAccountName: spec.serviceAccountName } : {}),
    ...(spec.imagePullSecrets ? { imagePullSecrets: spec.imagePullSecrets.map(({ name }) => ({ name })) } : {}),
    ...(scheduling.nodeSelector ? { nodeSelector: { ...scheduling.nodeSelector } } : {}),
    ...(scheduling.tolerations ? { tolerations: structuredClone(scheduling.tolerations) } : {}),
    ...(scheduling.affinity ? { affinity: structuredClone(scheduling.affinity) as V1Affinity } : {}),
    ...(spread ? { topologySpreadConstraints: spread } : {}),
    ...(scheduling.priorityClassName !== undefined ? { priorityClassName: scheduling.priorityClassName } : {}),
    ...(grace !== undefined ? { terminationGracePeriodSeconds: grace } : {}),
  };
}
