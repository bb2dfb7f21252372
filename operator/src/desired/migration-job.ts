// The schema migration of one revision (spec.database.migration): a Job that runs the migration
// command in that revision's pod template — its image, env (DATABASE_URL), files and security
// context — once. Its pods carry none of the selector labels, so no Service ever sends them traffic.
import type { V1Container, V1Job, V1PodTemplateSpec } from '@kubernetes/client-node';
import type { MicroService } from '../api/microservice.ts';
import { DEFAULT_MIGRATION_TIMEOUT_SECONDS } from '../api/microservice.ts';
import { canonicalHash } from '../common/hash.ts';
import { childMeta, identityOf, REVISION_LABEL, selectorLabels } from './meta.ts';

/** On a migration Job and its pod: the MicroService it migrates for. */
export const MIGRATION_LABEL = 'flotilla.dev/migration-of';
/** A finished Job stays this long for its logs and status, then the Job controller deletes it. */
export const MIGRATION_TTL_SECONDS = 86_400;
const JOB_NAME_MAX = 63;

/** `<name>-migrate-<revision>`, shortened with a hash of the name when it would not fit in 63 characters. */
export function migrationJobName(name: string, revision: string): string {
  const suffix = `-migrate-${revision}`;
  if (name.length + suffix.length <= JOB_NAME_MAX) return `${name}${suffix}`;
  const stem = name.slice(0, JOB_NAME_MAX - suffix.length - 8).replace(/-+$/, '');
  return `${stem}-${canonicalHash(name, 7)}${suffix}`;
}

/** The Job, or undefined when the service has no migration. `template` is the revision's pod template. */
export function buildMigrationJob(ms: MicroService, revision: string, template: V1PodTemplateSpec): V1Job | undefined {
  const migration = ms.spec.database?.migration;
  if (!migration) return undefined;
  const { name } = identityOf(ms);
  const service = template.spec?.containers[0];
  if (!service) return undefined;
  const selector = Object.keys(selectorLabels(name));
  const labels = Object.fromEntries(
    Object.entries(template.metadata?.labels ?? {}).filter(([key]) => !selector.includes(key)),
  );
  const container: V1Container = {
    name: 'migrate',
    image: service.image ?? ms.spec.image,
    command: [...migration.command],
    ...(migration.args ? { args: [...migration.args] } : {}),
    ...pick(service, ['envFrom', 'volumeMounts', 'resources', 'securityContext', 'workingDir']),
  };
  const env = [...(service.env ?? []).filter((e) => !migration.env?.some((m) => m.name === e.name))];
  for (const variable of migration.env ?? []) env.push({ name: variable.name, value: variable.value });
  if (env.length > 0) container.env = env;
  const metadata = childMeta(ms, migrationJobName(name, revision));
  metadata.labels = { ...metadata.labels, [MIGRATION_LABEL]: name, [REVISION_LABEL]: revision };
  for (const key of selector) delete metadata.labels[key];
  const { containers: _containers, initContainers: _init, ...podSpec } = template.spec ?? { containers: [] };
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata,
    spec: {
      backoffLimit: migration.backoffLimit ?? 0,
      activeDeadlineSeconds: migration.timeoutSeconds ?? DEFAULT_MIGRATION_TIMEOUT_SECONDS,
      ttlSecondsAfterFinished: MIGRATION_TTL_SECONDS,
      template: {
        metadata: {
          labels: { ...labels, [MIGRATION_LABEL]: name, [REVISION_LABEL]: revision },
          ...(template.metadata?.annotations ? { annotations: { ...template.metadata.annotations } } : {}),
        },
        spec: { ...podSpec, containers: [container], restartPolicy: 'Never' },
      },
    },
  };
}

function pick<T extends object, K extends keyof T>(object: T, keys: readonly K[]): Partial<Pick<T, K>> {
  return Object.fromEntries(
    keys.filter((key) => object[key] !== undefined).map((key) => [key, object[key]]),
  ) as Partial<Pick<T, K>>;
}
