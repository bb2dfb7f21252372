// The DatabaseServer controller's report of one engine, checked the same way for each: a server with the right
// admin Secret turns Ready with its version; the same server with a wrong password reports AuthenticationFailed,
// and the wrong password is nowhere in its status.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import {
  createDatabaseServerController,
  type DatabaseServerControllerOptions,
} from '../../operator/src/controllers/databaseserver/controller.ts';
import { EngineRegistry } from '../../operator/src/database/index.ts';
import { createKubeClient } from '../../operator/src/kube/client.ts';
import type { TestCluster } from '../support/cluster.ts';
import { eventually } from '../support/eventually.ts';
import { getJson, kubectlApply } from './microservice-support.ts';

type Server = {
  spec: Record<string, unknown>;
  status?: {
    serverVersion?: string;
    conditions?: { type: string; status: string; reason: string; message: string }[];
  };
};

/**
 * Runs the DatabaseServer controller until `serverName` is Ready and a copy of it (`<serverName>-bad`, its admin
 * Secret in `namespace` holding `username` and a wrong password) is not, with reason AuthenticationFailed.
 */
export async function expectServerChecked(
  cluster: TestCluster,
  options: { namespace: string; serverName: string; username: string } & Pick<
    DatabaseServerControllerOptions,
    'cacheEngines'
  >,
): Promise<void> {
  const { namespace, serverName, username } = options;
  const wrong = `wrong-${randomBytes(8).toString('hex')}`;
  const badName = `${serverName}-bad`;
  await kubectlApply(cluster, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: `${badName}-admin`, namespace },
    stringData: { username, password: wrong },
  });
  const good = await getJson<Server>(cluster, ['databaseserver', serverName]);
  await kubectlApply(cluster, {
    apiVersion: 'flotilla.dev/v1alpha1',
    kind: 'DatabaseServer',
    metadata: { name: badName },
    spec: { ...good.spec, adminSecretRef: { namespace, name: `${badName}-admin` } },
  });
  const client = await createKubeClient(cluster.kubeConfig);
  const engines = new EngineRegistry();
  const controller = createDatabaseServerController({
    client,
    logger: pino({ level: 'silent' }),
    engines,
    ...(options.cacheEngines ? { cacheEngines: options.cacheEngines } : {}),
    recheckIntervalMs: 2_000,
    retryIntervalMs: 1_000,
  });
  await controller.start();
  try {
    await eventually(
      'both servers checked',
      async () => {
        const checked = await getJson<Server>(cluster, ['databaseserver', serverName]);
        const ready = checked.status?.conditions?.find((c) => c.type === 'Ready');
        assert.equal(ready?.status, 'True', JSON.stringify(ready));
        assert.match(checked.status?.serverVersion ?? '', /^\d+\.\d+/);
        const bad = await getJson<Server>(cluster, ['databaseserver', badName]);
        const notReady = bad.status?.conditions?.find((c) => c.type === 'Ready');
        assert.equal(notReady?.reason, 'AuthenticationFailed', JSON.stringify(notReady));
        assert.ok(!JSON.stringify(bad).includes(wrong), 'the password is in the status');
      },
      { timeoutMs: 30_000 },
    );
  } finally {
    await controller.stop();
    await Promise.all([options.cacheEngines?.closeAll(), engines.closeAll()]);
    await client.close();
    await cluster.kubectl(['delete', 'databaseserver', badName, '--ignore-not-found']);
  }
}
