// Helpers of the messaging tests: a rabbitmq DatabaseServer of this run (with its admin Secret) pointing at the
// private RabbitMQ of `npm run databases`, and its management API as the admin.
import type { RabbitmqServer } from '../databases/rabbitmq.ts';
import type { TestCluster } from '../support/cluster.ts';
import { kubectlApply } from './microservice-support.ts';

/** The DatabaseServer `serverName` (engine rabbitmq) for `broker`, its admin Secret `rabbitmq-admin` in `namespace`. */
export async function createRabbitmqServer(
  cluster: TestCluster,
  namespace: string,
  serverName: string,
  broker: RabbitmqServer,
): Promise<void> {
  await kubectlApply(cluster, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'rabbitmq-admin', namespace },
    stringData: { username: broker.username, password: broker.password },
  });
  await kubectlApply(cluster, {
    apiVersion: 'flotilla.dev/v1alpha1',
    kind: 'DatabaseServer',
    metadata: { name: serverName },
    spec: {
      engine: 'rabbitmq',
      host: broker.amqpHost,
      port: broker.amqpPort,
      managementUrl: broker.managementUrl,
      adminSecretRef: { namespace, name: 'rabbitmq-admin' },
    },
  });
}

/** The management API as the admin: the status and the JSON answer of one call. */
export function managementApi(broker: RabbitmqServer) {
  const authorization = `Basic ${Buffer.from(`${broker.username}:${broker.password}`).toString('base64')}`;
  return async <T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; json: T }> => {
    const response = await fetch(`${broker.managementUrl}/api${path}`, {
      method,
      headers: { authorization, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, json: (text ? JSON.parse(text) : undefined) as T };
  };
}

/** The users of the broker whose name starts with `<prefix>.`. */
export async function usersIn(broker: RabbitmqServer, prefix: string): Promise<string[]> {
  const { json } = await managementApi(broker)<{ name: string }[]>('GET', '/users');
  return json.map((u) => u.name).filter((name) => name.startsWith(`${prefix}.`));
}
