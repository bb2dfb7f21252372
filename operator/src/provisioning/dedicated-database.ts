// A dedicated database instance (spec.database.instance: dedicated): the Secret `<name>-db`, pointing
// at the Service `<name>-db`, is all this provisioner writes; the image's entrypoint creates the user
// and the database from it when it initialises its volume, and the plan applies the StatefulSet.
// DatabaseReady follows the StatefulSet's ready pod. No finalizer: the volume claim goes or stays with
// the StatefulSet, as reclaimPolicy says.
import type { MicroService } from '../api/microservice.ts';
import {
  databaseSecretName,
  dedicatedDatabaseAddress,
  dedicatedDatabaseCondition,
  dedicatedDatabaseName,
  dedicatedDatabaseOf,
  identityOf,
} from '../desired/index.ts';
import { computeCredentialsHash, DATABASE_READY } from './database-condition.ts';
import { type DatabaseSecretOptions, databaseNames, ensureDatabaseSecret } from './database-secret.ts';
import type { ProvisionContext, Provisioned, Provisioner, Released } from './provisioner.ts';
import { ProvisionFailure } from './secrets.ts';

export class DedicatedDatabaseProvisioner implements Provisioner<'database'> {
  readonly field = 'database';
  readonly #options: DatabaseSecretOptions;

  constructor(options: DatabaseSecretOptions) {
    this.#options = options;
  }

  wants(ms: MicroService): boolean {
    return dedicatedDatabaseOf(ms) !== undefined;
  }

  async provision(ms: MicroService, { log, children }: ProvisionContext): Promise<Provisioned<'database'>> {
    const { name } = identityOf(ms);
    const secretName = databaseSecretName(name);
    const address = dedicatedDatabaseAddress(ms);
    if (!address) throw new Error('not a dedicated database');
    const statefulSet = children.find(
      (child) => child.kind === 'StatefulSet' && child.metadata.name === dedicatedDatabaseName(name),
    );
    try {
      const names = databaseNames(ms, { serverName: '', ...address });
      const secret = await ensureDatabaseSecret(this.#options, ms, { serverName: '', ...address }, names);
      const fact = dedicatedDatabaseCondition(ms, statefulSet as Parameters<typeof dedicatedDatabaseCondition>[1]);
      return {
        field: 'database',
        condition: { type: DATABASE_READY, ...fact },
        status: { name: names.database, secretName },
        credentialsHash: computeCredentialsHash(secret.data),
        events: [],
        retry: false,
      };
    } catch (error) {
      if (!(error instanceof ProvisionFailure)) throw error;
      log.warn({ reason: error.reason }, `dedicated database not ready: ${error.message}`);
      return {
        field: 'database',
        condition: { type: DATABASE_READY, status: 'False', reason: error.reason, message: error.message },
        status: ms.status?.database,
        events: [],
        retry: error.retry,
      };
    }
  }

  mustRelease(): boolean {
    return false;
  }

  async release(): Promise<Released> {
    return { done: true, events: [] };
  }
}
