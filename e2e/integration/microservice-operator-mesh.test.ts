// The operator as users run it (`flotilla run` as a child process) on the shop samples, first
// without any route CRD, then with Istio's — the real CRDs of VirtualService and DestinationRule
// (istio.io/api, through the Go module proxy, as npm start installs them; stand-ins when Go cannot
// fetch them) — a hand edit of a VirtualService's weights repaired, and 60 s idle with no write:
// none counted at the HTTP layer (the operator's /metrics), none seen by the API server (the
// managedFields of flotilla and its Events do not change).
// The route CRDs the cluster had before (a person's `npm start`) are put back afterwards.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { connectToCluster } from '../support/cluster.ts';
import { eventually } from '../support/eventually.ts';
import { ensureNamespace, installCrds } from './api-support.ts';
import {
  conditionOf,
  deleteShopNamespace,
  exists,
  freshNamespace,
  getJson,
  ISTIO_CRD_NAMES,
  istioCrds,
  type OperatorProcess,
  SHOP_SERVICES,
  shopSamples,
  startOperator,
  waitEstablished,
  withoutRouteCrds,
  writesSoFar,
} from './microservice-support.ts';

const cluster = await connectToCluster();
const namespace = freshNamespace('ms-mesh');
const VS = 'virtualservices.networking.istio.io';
const DR = 'destinationrules.networking.istio.io';

interface Meta {
  kind: string;
  metadata: {
    name: string;
    managedFields?: { manager: string; operation: string; subresource?: string; time?: string }[];
  };
}

/** What the API server shows of flotilla's writes in the namespace: its managedFields, its Events. */
async function flotillaFootprint(): Promise<string[]> {
  const kinds = `microservices,deployments,services,horizontalpodautoscalers,networkpolicies,${VS},${DR}`;
  const objects = await getJson<{ items: Meta[] }>(cluster, ['-n', namespace, kinds]);
  const fields = objects.items.flatMap((item) =>
    (item.metadata.managedFields ?? [])
      .filter((entry) => entry.manager === 'flotilla')
      .map((entry) => `${item.kind}/${item.metadata.name} ${entry.operation} ${entry.subresource ?? ''} ${entry.time}`),
  );
  const events = await getJson<{
    items: { metadata: { name: string; resourceVersion: string }; reportingComponent?: string }[];
  }>(cluster, ['-n', namespace, 'events']);
  const ours = events.items
    .filter((event) => event.reportingComponent === 'flotilla')
    .map((event) => `Event/${event.metadata.name} ${event.metadata.resourceVersion}`);
  return [...fields, ...ours].sort();
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('flotilla run without and with Istio', () => {
  withoutRouteCrds(cluster);
  let operator: OperatorProcess | undefined;
  after(async () => {
    operator?.child.kill('SIGKILL');
    await deleteShopNamespace(cluster, namespace);
  });
  const running = (): OperatorProcess => {
    assert.ok(operator, 'the operator runs');
    return operator;
  };

  it('without Istio or the Gateway API: every shop service Ready, RoutesReady False NoMeshInstalled', {
    timeout: 120_000,
  }, async () => {
    await installCrds(cluster);
    await ensureNamespace(cluster, namespace);
    operator = await startOperator(cluster, namespace);
    await cluster.kubectl(['apply', '-f', '-'], {
      input: JSON.stringify({ kind: 'List', apiVersion: 'v1', items: shopSamples(namespace) }),
    });
    for (const name of SHOP_SERVICES) {
      await eventually(
        `${name} Ready without routes`,
        async () => {
          assert.equal((await conditionOf(cluster, namespace, name, 'Ready'))?.status, 'True');
          const routes = await conditionOf(cluster, namespace, name, 'RoutesReady');
          assert.equal(routes?.status, 'False');
          assert.equal(routes?.reason, 'NoMeshInstalled');
        },
        { timeoutMs: 60_000 },
      );
    }
  });

  it('with the Istio CRDs installed: a VirtualService and a DestinationRule per service, RoutesReady True', {
    timeout: 120_000,
  }, async () => {
    const { crds, origin } = istioCrds();
    await cluster.kubectl(['apply', '--server-side', '--force-conflicts', '-f', '-'], {
      input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: crds }),
    });
    await waitEstablished(cluster, ISTIO_CRD_NAMES);
    for (const name of SHOP_SERVICES) {
      await eventually(
        `routes of ${name} (Istio CRDs: ${origin})`,
        async () => {
          assert.ok(await exists(cluster, ['-n', namespace, VS, name]));
          assert.ok(await exists(cluster, ['-n', namespace, DR, name]));
          const routes = await conditionOf(cluster, namespace, name, 'RoutesReady');
          assert.equal(routes?.status, 'True');
          assert.equal(routes?.reason, 'RoutesConfigured');
          assert.equal((await conditionOf(cluster, namespace, name, 'Ready'))?.status, 'True');
        },
        { timeoutMs: 60_000 },
      );
    }
  });

  it('restores a VirtualService whose weights were edited by hand within a second', { timeout: 60_000 }, async () => {
    type Vs = { spec: { http: { route: { destination: { host: string }; weight?: number }[] }[] } };
    let before: Vs | undefined;
    await eventually('the VirtualService of orders', async () => {
      before = await getJson<Vs>(cluster, ['-n', namespace, VS, 'orders']);
    });
    assert.ok(before);
    const http = structuredClone(before.spec.http);
    for (const rule of http) {
      const [first] = rule.route;
      assert.ok(first);
      rule.route = [
        { ...first, weight: 20 },
        { destination: { host: `elsewhere.${namespace}.svc.cluster.local` }, weight: 80 },
      ];
    }
    await cluster.kubectl([
      '-n',
      namespace,
      'patch',
      VS,
      'orders',
      '--type',
      'merge',
      '-p',
      JSON.stringify({ spec: { http } }),
    ]);
    const editedAt = Date.now();
    await eventually(
      'the weights are restored',
      async () => {
        const now = await getJson<Vs>(cluster, ['-n', namespace, VS, 'orders']);
        assert.deepEqual(now.spec.http, before?.spec.http);
      },
      { intervalMs: 50 },
    );
    assert.ok(Date.now() - editedAt < 1_500, `restored after ${Date.now() - editedAt} ms`);
  });

  it('makes no write request while idle for 60 s', { timeout: 240_000 }, async () => {
    const { metricsUrl, lines } = running();
    // First let the HPAs, kwok and the repair above settle: every HPA has acted on its minReplicas
    // (its first sync comes up to 15 s after it was made, and would then start a scale-up within
    // the idle minute), then 10 s with no write.
    await eventually(
      'settled',
      async () => {
        const hpas = await getJson<{
          items: { spec: { minReplicas?: number }; status?: { currentReplicas?: number; desiredReplicas?: number } }[];
        }>(cluster, ['-n', namespace, 'hpa']);
        for (const hpa of hpas.items) {
          assert.ok((hpa.status?.currentReplicas ?? 0) >= (hpa.spec.minReplicas ?? 1), 'an HPA below its minReplicas');
          assert.equal(hpa.status?.desiredReplicas, hpa.status?.currentReplicas, 'an HPA still scaling');
        }
        const before = await writesSoFar(metricsUrl);
        await sleep(10_000);
        assert.equal(await writesSoFar(metricsUrl), before, 'writes while settling');
      },
      { timeoutMs: 90_000, intervalMs: 0 },
    );
    const writesBefore = await writesSoFar(metricsUrl);
    const footprintBefore = await flotillaFootprint();
    const logsBefore = lines.length;
    await sleep(60_000);
    const logged = lines
      .slice(logsBefore)
      .map((line) =>
        [line.msg, line.name, line.child, line.why, line.err && JSON.stringify(line.err)].filter(Boolean).join(' '),
      );
    assert.equal(
      await writesSoFar(metricsUrl),
      writesBefore,
      `write requests counted by the operator in 60 s idle; it logged:\n${logged.slice(0, 40).join('\n')}`,
    );
    assert.deepEqual(await flotillaFootprint(), footprintBefore, 'writes seen by the API server in 60 s idle');
  });

  it('stops on SIGTERM with exit code 0', { timeout: 30_000 }, async () => {
    const { child, exited } = running();
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  });
});
