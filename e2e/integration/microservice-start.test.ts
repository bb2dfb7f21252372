// `npm start` (scripts/start.ts) end to end on the test cluster: every step printed to stderr, the
// CRDs installed, on the local cluster Istio's and the Gateway API's real CRDs too, the shop samples
// applied and run to Ready with their routes, JSON logs on stdout (not a terminal), and SIGTERM
// forwarded to the operator, which stops cleanly. Like npm start, it leaves the shop namespace and
// the CRDs in place (a person's `npm start` on the same cluster finds them as it would make them);
// it runs its operator without leader election, so a person's npm start does not keep it waiting.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { connectToCluster, currentClusterFile } from '../support/cluster.ts';
import { eventually } from '../support/eventually.ts';
import { conditionOf, exists, getJson, type LogLine, SHOP_SERVICES } from './microservice-support.ts';

const cluster = await connectToCluster();
const START = fileURLToPath(new URL('../../scripts/start.ts', import.meta.url));
const pointer = currentClusterFile();
const local = existsSync(pointer) && readFileSync(pointer, 'utf8').trim() === cluster.kubeconfigPath;

describe('npm start', () => {
  const child = spawn(
    process.execPath,
    [
      START,
      '--kubeconfig',
      cluster.kubeconfigPath,
      '--no-leader-elect',
      '--namespace',
      'shop',
      '--health-probe-bind-address',
      '127.0.0.1:0',
      '--metrics-bind-address',
      '127.0.0.1:0',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const steps: string[] = [];
  const lines: LogLine[] = [];
  createInterface({ input: child.stderr }).on('line', (line) => steps.push(line));
  createInterface({ input: child.stdout }).on('line', (line) => lines.push(JSON.parse(line) as LogLine));
  after(() => {
    child.kill('SIGKILL');
  });

  it('prints each step, installs the CRDs, applies the shop samples and runs them to Ready', {
    timeout: 300_000,
  }, async () => {
    await eventually(
      'the operator is started',
      () =>
        assert.ok(
          steps.some((s) => s.startsWith('flotilla start: 5/5')),
          steps.join('\n'),
        ),
      { timeoutMs: 240_000, intervalMs: 200 },
    );
    const text = steps.join('\n');
    assert.match(text, /1\/5 finding the cluster\n.*using .*kubeconfig/);
    assert.match(text, /2\/5 installing the Flotilla CRDs[\s\S]*microservices\.flotilla\.dev[\s\S]*Established/);
    if (local) {
      assert.match(text, /3\/5 installing Istio's and the Gateway API's CRDs/);
      assert.match(text, /Istio v\d+\.\d+\.\d+: \d+ CRDs from istio\.io\/api|Istio: MINIMAL STAND-INS/);
      assert.match(text, /Gateway API [^\n]*\n[^\n]*httproutes\.gateway\.networking\.k8s\.io/);
    } else {
      assert.match(text, /3\/5 not the local cluster/);
    }
    assert.match(text, /4\/5 applying the shop samples[\s\S]*microservice\.flotilla\.dev\/orders/);
    if (local) assert.match(text, /postgres-main: postgres on 127\.0\.0\.1:\d+/);
    if (local) assert.match(text, /rabbitmq-main: rabbitmq on 127\.0\.0\.1:\d+/);
    assert.match(text, /running: node operator\/src\/main\.ts run --kubeconfig .* --no-leader-elect --namespace shop/);

    let endpoints: LogLine | undefined;
    await eventually('JSON logs with the endpoints', () => {
      endpoints = lines.find((line) => line.msg === 'endpoints');
      assert.ok(endpoints);
    });
    await eventually('ready', async () => assert.equal((await fetch(`${endpoints?.health}/readyz`)).status, 200));
    for (const name of SHOP_SERVICES) {
      await eventually(
        `${name} Ready`,
        async () => {
          assert.equal((await conditionOf(cluster, 'shop', name, 'Ready'))?.status, 'True');
          if (local) {
            assert.equal((await conditionOf(cluster, 'shop', name, 'RoutesReady'))?.status, 'True');
            assert.ok(await exists(cluster, ['-n', 'shop', 'virtualservices.networking.istio.io', name]));
            // The samples' databases, on the loopback servers npm start brought up.
            if (name !== 'inventory') {
              assert.equal((await conditionOf(cluster, 'shop', name, 'DatabaseReady'))?.status, 'True');
            }
            // And their broker users, on the loopback RabbitMQ.
            if (name !== 'users') {
              assert.equal((await conditionOf(cluster, 'shop', name, 'MessagingReady'))?.status, 'True');
            }
          }
        },
        { timeoutMs: 60_000 },
      );
    }
    if (local && /Istio v/.test(text)) {
      // The real CRD: Istio's versions and schema, not a stand-in that accepts anything.
      const crd = await getJson<{ spec: { versions: { name: string }[] } }>(cluster, [
        'crd',
        'virtualservices.networking.istio.io',
      ]);
      assert.deepEqual(crd.spec.versions.map((v) => v.name).sort(), ['v1', 'v1alpha3', 'v1beta1']);
    }
  });

  it('forwards SIGTERM to the operator, which stops cleanly', { timeout: 30_000 }, async () => {
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.ok(lines.some((line) => line.msg === 'stopped'));
    assert.ok(steps.some((s) => /SIGTERM: stopping the operator/.test(s)));
    assert.ok(steps.some((s) => /the operator stopped \(exit 0\)/.test(s)));
  });
});
