// The migration gate (spec.database.migration), pure: from the revision the spec asks for, the
// recorded status and the observed Jobs, whether that revision may get pods and traffic yet, which
// Job must exist, and what to record. A revision migrates once; until it has, the release holds.
import type { V1Job, V1PodTemplateSpec } from '@kubernetes/client-node';
import type { MicroService } from '../api/microservice.ts';
import { buildMigrationJob, migrationJobName } from '../desired/index.ts';
import type { KubeObject } from '../kube/objects.ts';

export const MigrationReason = {
  /** The revision's migration Job runs (or is about to); the release waits. */
  Migrating: 'Migrating',
  /** The migration Job failed or ran out of time; the new revision gets no traffic. */
  MigrationFailed: 'MigrationFailed',
} as const;

export const MigrationEventReason = {
  MigrationStarted: 'MigrationStarted',
  MigrationSucceeded: 'MigrationSucceeded',
  MigrationFailed: 'MigrationFailed',
  MigrationRetried: 'MigrationRetried',
} as const;

/** What holds the release of a revision back: its message, and whether the migration failed. */
export interface ReleaseHold {
  reason: (typeof MigrationReason)[keyof typeof MigrationReason];
  message: string;
  /** A retry request was carried out: the failed Job goes, a new one follows. */
  retried?: boolean;
}

export interface MigrationInput {
  ms: MicroService;
  /** The revision the spec asks for, and its pod template. */
  revision: string;
  template: V1PodTemplateSpec;
  /** The service's children as observed (its Jobs among them). */
  children: readonly KubeObject[];
  /** Whether the database is provisioned (DatabaseReady True): the migration needs it. */
  databaseReady: boolean;
  /** A retry request of the Rollout, waiting to be carried out. */
  retryRequested?: boolean;
}

export interface MigrationPlan {
  /** The Job to apply; undefined: none (none needed, or the failed one is kept as it is). */
  job?: V1Job;
  /** Names of observed migration Jobs to keep untouched (a failed one, for its status and logs). */
  keep: string[];
  /** Set while the revision may not get pods or traffic. */
  hold?: ReleaseHold;
  /** The revision whose migration just succeeded: status.database.migratedRevision. */
  migrated?: string;
}

type JobVerdict = 'running' | 'succeeded' | 'failed';

/** A Job's verdict from its conditions (Complete / Failed True), else running. */
export function jobVerdict(job: KubeObject): { verdict: JobVerdict; message: string } {
  const conditions = ((job.status as V1Job['status'])?.conditions ?? []).filter((c) => c.status === 'True');
  const failed = conditions.find((c) => c.type === 'Failed');
  if (failed) return { verdict: 'failed', message: [failed.reason, failed.message].filter(Boolean).join(': ') };
  if (conditions.some((c) => c.type === 'Complete' || c.type === 'SuccessCriteriaMet')) {
    return { verdict: 'succeeded', message: 'completed' };
  }
  return { verdict: 'running', message: 'running' };
}

export function planMigration(input: MigrationInput): MigrationPlan {
  const { ms, revision } = input;
  const name = ms.metadata.name ?? '';
  const migration = ms.spec.database?.migration;
  const recorded = ms.status?.database?.migratedRevision;
  if (!migration || recorded === revision) return { keep: [] };
  const jobName = migrationJobName(name, revision);
  const observed = input.children.find((c) => c.kind === 'Job' && c.metadata.name === jobName);
  if (!observed) {
    if (!input.databaseReady) {
      return {
        keep: [],
        hold: {
          reason: MigrationReason.Migrating,
          message: `waiting for the database before migrating the schema for revision ${revision}`,
        },
      };
    }
    const job = buildMigrationJob(ms, revision, input.template);
    return {
      ...(job ? { job } : {}),
      keep: [],
      hold: {
        reason: MigrationReason.Migrating,
        message: `migrating schema for revision ${revision} (Job ${jobName})`,
      },
    };
  }
  const { verdict, message } = jobVerdict(observed);
  if (verdict === 'succeeded') return { keep: [jobName], migrated: revision };
  if (verdict === 'running') {
    return {
      keep: [jobName],
      hold: {
        reason: MigrationReason.Migrating,
        message: `migrating schema for revision ${revision} (Job ${jobName})`,
      },
    };
  }
  if (input.retryRequested) {
    // The failed Job is deleted (it is not kept); the next reconcile creates it again.
    return {
      keep: [],
      hold: {
        reason: MigrationReason.Migrating,
        message: `retrying the schema migration for revision ${revision} (Job ${jobName})`,
        retried: true,
      },
    };
  }
  return {
    keep: [jobName],
    hold: {
      reason: MigrationReason.MigrationFailed,
      message: `the schema migration for revision ${revision} failed (Job ${jobName}: ${message}); the new revision gets no traffic. Fix it and retry the Rollout, or release a newer revision`,
    },
  };
}
