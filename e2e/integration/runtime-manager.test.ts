// The manager as the operator process runs it: leader election, a controller started once leading,
// /readyz after sync, /metrics with API requests and reconciles, and a graceful stop that finishes
// the in-flight reconcile and releases the Lease.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { createKubeClient, type KubeClient } from '../../operator/src/kube/client.ts';
import { configMapType, type KubeObject, leaseType } from '../../operator/src/kube/objects.ts';
import { Controller } from '../../operator/src/runtime/controller.ts';
import { startManager } from '../../operator/src/runtime/manager.ts';
import { connectToCluster } from '../support/cluster.ts';
import { eventually } from '../support/eventually.ts';
import { ensureNamespace, uniqueName } from './runtime-helpers.ts';

const cluster = await connectToCluster();
const namespace = 'runtime-manager';
const logger = pino({ level: process.env.LOG_LEVEL ?? 'silent' });

describe('manager', () => {
  let client: KubeClient;
  before(async () => {
    await ensureNamespace(cluster, namespace);
    client = await createKubeClient(cluster.kubeConfig);
  });
  after(() => client.close());

  it('leads, reconciles, reports ready and metrics, and stops gracefully releasing the Lease', {
    timeout: 60_000,
  }, async () => {
    const lease = uniqueName('lease');
    const name = uniqueName('managed');
    let inFlight = 0;
    let finished = 0;
    await client.apply(configMapType, { metadata: { name, namespace }, data: { v: '1' } });
    const manager = await startManager({
      kubeConfig: cluster.kubeConfig,
      logger,
      leaderElection: { namespace, name: lease, identity: 'manager-test' },
      health: { host: '127.0.0.1', port: 0 },
      metrics: { host: '127.0.0.1', port: 0 },
      controllers: ({ client: fenced, metrics }) => [
        new Controller({
          client: fenced,
          primary: configMapType,
          namespace,
          logger,
          metrics,
          reconcile: async (key, { object }) => {
            if (key !== `${namespace}/${name}`) return;
            inFlight++;
            await new Promise((resolve) => setTimeout(resolve, 1_000));
            // A write through the fenced client: allowed while leading.
            await fenced.apply(configMapType, {
              metadata: { name: `${name}-echo`, namespace },
              data: { v: String((object?.data as { v?: string } | undefined)?.v) },
            });
            inFlight--;
            finished++;
          },
        }),
      ],
    });
    let stopped = false;
    try {
      await eventually('readiness', async () => {
        const response = await fetch(`${manager.healthUrl}/readyz`);
        const body = (await response.json()) as { role: string };
        assert.equal(response.status, 200);
        assert.equal(body.role, 'leader');
      });
      await eventually('the echo', async () => {
        const echo = await client.get<KubeObject & { data: { v: string } }>(configMapType, `${name}-echo`, namespace);
        assert.equal(echo.data.v, '1');
      });
      const metricsText = await (await fetch(`${manager.metricsUrl}/metrics`)).text();
      const samples = metricsText
        .split('\n')
        .filter((line) => line.startsWith('flotilla_') && !line.includes('nodejs'));
      const has = (pattern: RegExp) =>
        assert.ok(
          samples.some((line) => pattern.test(line)),
          `${pattern} in ${samples.join('\n')}`,
        );
      has(/^flotilla_api_requests_total\{verb="APPLY",code="20[01]"\} [1-9]/);
      has(/^flotilla_api_requests_total\{verb="LIST",code="200"\} [1-9]/);
      has(/^flotilla_api_requests_total\{verb="WATCH",code="200"\} [1-9]/);
      has(/^flotilla_reconcile_total\{kind="ConfigMap",result="success"\} [1-9]/);
      has(/^flotilla_leader 1/);

      // A reconcile in flight when the stop comes is finished, not cut.
      await client.apply(configMapType, { metadata: { name, namespace }, data: { v: '2' } });
      await eventually('a reconcile in flight', () => assert.equal(inFlight, 1), { intervalMs: 10 });
      const finishedBefore = finished;
      await manager.stop();
      stopped = true;
      assert.equal(finished, finishedBefore + 1);
      assert.equal(await manager.done, 'stopped');
      const released = await client.get<KubeObject & { spec: { holderIdentity?: string } }>(
        leaseType,
        lease,
        namespace,
      );
      assert.equal(released.spec.holderIdentity ?? '', '');
    } finally {
      if (!stopped) await manager.stop();
    }
  });
});
