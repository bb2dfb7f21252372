// For `npm start` on the local cluster: the private PostgreSQL, MariaDB and RabbitMQ of `npm run databases`
// brought up (installed from Debian's packages where missing, as root), and the DatabaseServers the
// samples name (postgres-main, mysql-main, rabbitmq-main) with their admin Secrets in flotilla-system,
// pointing at them on loopback — the operator runs on the host, so it reaches 127.0.0.1.

import type { RabbitmqServer } from '../e2e/databases/rabbitmq.ts';
import type { AdminConnection, DatabaseEngineName } from '../operator/src/database/index.ts';

/** The DatabaseServer of the samples for each engine, and its admin Secret. */
export const SAMPLE_SERVERS: Record<DatabaseEngineName, { server: string; secret: string }> = {
  postgres: { server: 'postgres-main', secret: 'postgres-admin' },
  mysql: { server: 'mysql-main', secret: 'mysql-admin' },
};

export const ADMIN_SECRET_NAMESPACE = 'flotilla-system';

/** The admin Secret and the DatabaseServer of the samples for a server at `admin`. Pure. */
export function buildSampleServer(admin: AdminConnection): object[] {
  const names = SAMPLE_SERVERS[admin.engine];
  return [
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: names.secret, namespace: ADMIN_SECRET_NAMESPACE },
      type: 'Opaque',
      stringData: { username: admin.username, password: admin.password },
    },
    {
      apiVersion: 'flotilla.dev/v1alpha1',
      kind: 'DatabaseServer',
      metadata: { name: names.server },
      spec: {
        engine: admin.engine,
        host: admin.host,
        port: admin.port,
        adminSecretRef: { namespace: ADMIN_SECRET_NAMESPACE, name: names.secret },
      },
    },
  ];
}

/** The samples' RabbitMQ, rabbitmq-main, for a server at `broker`, and its admin Secret. Pure. */
export function buildSampleBroker(broker: RabbitmqServer): object[] {
  return [
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'rabbitmq-admin', namespace: ADMIN_SECRET_NAMESPACE },
      type: 'Opaque',
      stringData: { username: broker.username, password: broker.password },
    },
    {
      apiVersion: 'flotilla.dev/v1alpha1',
      kind: 'DatabaseServer',
      metadata: { name: 'rabbitmq-main' },
      spec: {
        engine: 'rabbitmq',
        host: broker.amqpHost,
        port: broker.amqpPort,
        managementUrl: broker.managementUrl,
        adminSecretRef: { namespace: ADMIN_SECRET_NAMESPACE, name: 'rabbitmq-admin' },
      },
    },
  ];
}

export interface LoopbackServers {
  manifests: object[];
  /** One line per engine: where it runs, or why it is not there. */
  notes: string[];
}

/** Brings up each server (or reuses it) and returns the manifests of those that came up. */
export async function loopbackServers(): Promise<LoopbackServers> {
  const { up } = await import('../e2e/databases/servers.ts');
  const manifests: object[] = [];
  const notes: string[] = [];
  for (const engine of ['postgres', 'mysql'] as const) {
    try {
      const admin = await up(engine);
      manifests.push(...buildSampleServer(admin));
      notes.push(
        `${SAMPLE_SERVERS[engine].server}: ${engine} on ${admin.host}:${admin.port} (admin ${admin.username})`,
      );
    } catch (error) {
      notes.push(
        `${SAMPLE_SERVERS[engine].server}: no ${engine} server (${error instanceof Error ? error.message : error}); ` +
          'its services report DatabaseReady False',
      );
    }
  }
  const { rabbitmqUp } = await import('../e2e/databases/rabbitmq.ts');
  try {
    const broker = await rabbitmqUp();
    manifests.push(...buildSampleBroker(broker));
    notes.push(
      `rabbitmq-main: rabbitmq on ${broker.amqpHost}:${broker.amqpPort} (management API ${broker.managementUrl})`,
    );
  } catch (error) {
    notes.push(
      `rabbitmq-main: no rabbitmq server (${error instanceof Error ? error.message : error}); ` +
        'its services report MessagingReady False',
    );
  }
  return { manifests, notes };
}
