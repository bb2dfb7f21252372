// The operator as users run it: `node operator/src/main.ts run` (what `npm start` runs) as a child
// process, the shop samples applied, every service Ready, JSON logs with one logger per reconcile,
// no write while idle, and a graceful stop on SIGTERM.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, describe, it } from 'node:test';
import { loadAll } from 'js-yaml';
import { connectToCluster } from '../support/cluster.ts';
import { eventually } from '../support/eventually.ts';
import { ensureNamespace, installCrds, SAMPLES_DIR } from './api-support.ts';
import { conditionOf, freshNamespace } from './microservice-support.ts';

const cluster = await connectToCluster();
const namespace = freshNamespace('ms-operator');
const SERVICES = ['users', 'orders', 'payments', 'inventory'];
const MAIN = new URL('../../operator/src/main.ts', import.meta.url).pathname;

/** The shop's MicroServices and Rollouts, moved into `namespace`. */
function shopSamples(): object[] {
  const files = ['20-users.yaml', '21-orders.yaml', '22-payments.yaml', '23-inventory.yaml'];
  return files.flatMap((file) =>
    (loadAll(readFileSync(join(SAMPLES_DIR, file), 'utf8')) as { kind: string; metadata: { namespace: string } }[])
      .filter((doc) => doc && (doc.kind === 'MicroService' || doc.kind === 'Rollout'))
      .map((doc) => ({ ...doc, metadata: { ...doc.metadata, namespace } })),
  );
}

type LogLine = Record<string, unknown>;

/** Write requests so far, from the operator's /metrics (flotilla_api_requests_total by verb). */
async function writesSoFar(metricsUrl: string): Promise<number> {
  const text = await (await fetch(`${metricsUrl}/metrics`)).text();
  let total = 0;
  for (const match of text.matchAll(/^flotilla_api_requests_total\{([^}]*)\} (\d+)/gm)) {
    const verb = /verb="([A-Z]+)"/.exec(match[1] ?? '')?.[1] ?? '';
    if (!['GET', 'LIST', 'WATCH'].includes(verb)) total += Number(match[2]);
  }
  return total;
}

describe('flotilla run', () => {
  let operator: ChildProcess | undefined;
  const lines: LogLine[] = [];
  const raw: string[] = [];
  after(async () => {
    operator?.kill('SIGKILL');
    await cluster.kubectl(['delete', 'namespace', namespace, '--wait=false', '--ignore-not-found']);
  });

  it('runs the shop samples to Ready, logs JSON, writes nothing while idle and stops on SIGTERM', {
    timeout: 180_000,
  }, async () => {
    await installCrds(cluster);
    await ensureNamespace(cluster, namespace);
    operator = spawn(
      process.execPath,
      [
        MAIN,
        'run',
        '--kubeconfig',
        cluster.kubeconfigPath,
        '--namespace',
        namespace,
        '--no-leader-elect',
        '--health-probe-bind-address',
        '127.0.0.1:0',
        '--metrics-bind-address',
        '127.0.0.1:0',
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const exited = new Promise<number | null>((resolve) => operator?.once('exit', (code) => resolve(code)));
    createInterface({ input: operator.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      raw.push(line);
      lines.push(JSON.parse(line) as LogLine);
    });
    let endpoints: LogLine | undefined;
    await eventually('the endpoints are logged', () => {
      endpoints = lines.find((line) => line.msg === 'endpoints');
      assert.ok(endpoints);
    });
    const healthUrl = String(endpoints?.health);
    const metricsUrl = String(endpoints?.metrics);
    await eventually('ready', async () => assert.equal((await fetch(`${healthUrl}/readyz`)).status, 200));

    await cluster.kubectl(['apply', '-f', '-'], {
      input: JSON.stringify({ kind: 'List', apiVersion: 'v1', items: shopSamples() }),
    });
    for (const name of SERVICES) {
      await eventually(
        `${name} Ready`,
        async () => {
          assert.equal((await conditionOf(cluster, namespace, name, 'Ready'))?.status, 'True');
        },
        { timeoutMs: 60_000 },
      );
    }

    const reconcileLine = lines.find((line) => line.msg === 'applied child');
    assert.ok(reconcileLine, 'a reconcile logged what it applied');
    for (const field of ['kind', 'namespace', 'name', 'generation', 'reconcileId']) {
      assert.ok(field in reconcileLine, `reconcile log lines carry ${field}`);
    }
    assert.equal(reconcileLine.namespace, namespace);
    assert.ok(!raw.some((line) => /password|DATABASE_URL=|Bearer /i.test(line)), 'no credential in the logs');

    // Idle: once the HPAs and kwok have settled, no write for 10 seconds.
    await eventually(
      'idle',
      async () => {
        const before = await writesSoFar(metricsUrl);
        await new Promise((resolve) => setTimeout(resolve, 10_000));
        assert.equal(await writesSoFar(metricsUrl), before, 'writes while idle');
      },
      { timeoutMs: 90_000, intervalMs: 0 },
    );

    operator.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.ok(lines.some((line) => line.msg === 'stopped'));
  });
});
