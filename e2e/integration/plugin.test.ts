// kubectl flotilla against the real cluster with the operator running as users run it: a canary of
// `orders` driven end to end only through the plugin — set image, status (exit codes 0, 1, 2, 3),
// promote, abort, retry, promote --full — while `get --watch` redraws as the weights change; the
// single executable against the same cluster; and the kubeconfig found as kubectl finds it
// (several KUBECONFIG files, --context).
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { load } from 'js-yaml';
import type { ServiceView } from '../../operator/src/plugin/view.ts';
import { buildExecutable } from '../../scripts/plugin.ts';
import { connectToCluster } from '../support/cluster.ts';
import { eventually } from '../support/eventually.ts';
import { ensureNamespace, installCrds } from './api-support.ts';
import {
  freshNamespace,
  getJson,
  installIstioCrds,
  kubectlApply,
  microServiceManifest,
  type OperatorProcess,
  startOperator,
} from './microservice-support.ts';

const PLUGIN = fileURLToPath(new URL('../../operator/src/plugin/main.ts', import.meta.url));
const cluster = await connectToCluster();
const namespace = freshNamespace('plugin');
const IMAGE = 'registry.example.com/shop/orders';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `kubectl-flotilla ARGS` as a user runs it, with this cluster's kubeconfig and namespace. */
function plugin(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  const child = spawn(process.execPath, [PLUGIN, ...args], {
    env: { ...process.env, KUBECONFIG: cluster.kubeconfigPath, ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

const inNamespace = (...args: string[]) => plugin([...args, '-n', namespace]);

async function expectExit(run: Promise<Run>, code: number, what: string): Promise<Run> {
  const result = await run;
  assert.equal(result.code, code, `${what}: exit ${result.code}\n${result.stdout}${result.stderr}`);
  return result;
}

describe('kubectl flotilla, on the real cluster with the operator running', { timeout: 600_000 }, () => {
  let operator: OperatorProcess | undefined;
  let watcher: ChildProcess | undefined;
  let watched = '';
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-plugin-'));

  before(async () => {
    await installCrds(cluster);
    await installIstioCrds(cluster);
    await ensureNamespace(cluster, namespace);
    operator = await startOperator(cluster, namespace);
  });
  after(async () => {
    watcher?.kill('SIGINT');
    operator?.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    await cluster.kubectl(['delete', 'namespace', namespace, '--wait=false', '--ignore-not-found']);
  });

  it('drives a canary of orders end to end: status 0/1/2/3, promote, abort, retry, promote --full, get --watch', async () => {
    // Given orders, released by a canary Rollout with a manual pause and a long timed pause
    await kubectlApply(
      cluster,
      microServiceManifest(namespace, 'orders', {
        image: `${IMAGE}:1.0.0`,
        replicas: 2,
        ports: [{ name: 'http', port: 8002, targetPort: 8080 }],
      }),
    );
    await kubectlApply(cluster, {
      apiVersion: 'flotilla.dev/v1alpha1',
      kind: 'Rollout',
      metadata: { name: 'orders', namespace },
      spec: {
        serviceRef: { name: 'orders' },
        strategy: {
          canary: {
            steps: [{ setWeight: 10 }, { pause: {} }, { setWeight: 50 }, { pause: { duration: '1h' } }],
            trafficRouting: 'istio',
            scaleDownDelaySeconds: 2,
          },
        },
      },
    });
    // Then status waits for it to be released, and exits 0
    await expectExit(inNamespace('status', 'orders', '--timeout', '2m'), 0, 'status of the first release');

    // When `get --watch` runs beside the release
    watcher = spawn(process.execPath, [PLUGIN, 'get', 'ms', 'orders', '--watch', '-n', namespace], {
      env: { ...process.env, KUBECONFIG: cluster.kubeconfigPath },
    });
    watcher.stdout?.on('data', (chunk) => {
      watched += chunk;
    });
    await eventually('the first tree', () => assert.match(watched, /Rollout orders {2}Canary {2}Healthy/));

    // And a new image is set through the plugin
    await expectExit(inNamespace('set', 'image', 'orders', `${IMAGE}:2.0.0`), 0, 'set image');
    // Then status --until Paused exits 0 at the first pause, and a plain status exits 3 there at once
    await expectExit(inNamespace('status', 'orders', '--until', 'Paused', '--timeout', '2m'), 0, 'until Paused');
    const held = await expectExit(inNamespace('status', 'orders', '--timeout', '2m'), 3, 'status at a manual pause');
    assert.match(held.stdout, /Paused {2}step 2\/4 {2}weight 10%.*\(PausedAtStep: waiting for a promotion\)/);
    // And the watched tree shows the canary at 10 %, as set and as routed
    await eventually('the watch redraws at 10 %', () => assert.match(watched, /weight 10% \(route: 10%\)/));
    const view = JSON.parse((await expectExit(inNamespace('get', 'orders', '-o', 'json'), 0, 'get -o json')).stdout);
    assert.deepEqual(
      (view as ServiceView).routes[0]?.weights.map((w) => `${w.backend}:${w.weight}`),
      ['stable:90', 'canary:10'],
    );
    assert.deepEqual(
      (view as ServiceView).revisions.map((r) => `${r.role} ${r.image} ${r.ready}/${r.desired}`),
      [`stable ${IMAGE}:1.0.0 2/2`, `canary ${IMAGE}:2.0.0 1/1`],
    );

    // When aborted, status exits 1 and says why
    const aborted = await expectExit(inNamespace('abort', 'orders'), 0, 'abort');
    assert.match(aborted.stdout, /rollout orders: Abort: /);
    const failed = await expectExit(inNamespace('status', 'orders', '--timeout', '1m'), 1, 'status after abort');
    assert.match(failed.stdout, /\(reason: \w+\)/);

    // When retried, the release starts over and stops at the first pause again
    assert.match((await expectExit(inNamespace('retry', 'orders'), 0, 'retry')).stdout, /rollout orders: Retry: /);
    await expectExit(inNamespace('status', 'orders', '--until', 'Paused', '--timeout', '2m'), 0, 'paused again');

    // When promoted, it goes to 50 % and the watch redraws; a timed pause of 1h is waited out, to the timeout
    const promoted = await expectExit(inNamespace('promote', 'orders'), 0, 'promote');
    assert.match(promoted.stdout, /rollout orders: PromoteStep: /);
    await eventually('the watch redraws at 50 %', () => assert.match(watched, /weight 50% \(route: 50%\)/), {
      timeoutMs: 60_000,
    });
    const started = Date.now();
    const timedOut = await expectExit(inNamespace('status', 'orders', '--timeout', '3s'), 2, 'status in a timed pause');
    assert.ok(Date.now() - started < 15_000, 'status ends at its timeout');
    assert.match(timedOut.stderr, /not Healthy within 3s/);

    // When promoted fully, it is released and status exits 0
    assert.match(
      (await expectExit(inNamespace('promote', 'orders', '--full'), 0, 'promote --full')).stdout,
      /rollout orders: PromoteFull: /,
    );
    await expectExit(inNamespace('status', 'orders', '--timeout', '2m'), 0, 'status after promote --full');
    // And list shows it Healthy, at its size once the old revision is scaled down
    await eventually('listed at 2/2', async () => {
      const list = await expectExit(inNamespace('list'), 0, 'list');
      assert.match(list.stdout, /^orders +Healthy +\w+ +- +2\/2/m);
    });
  });

  it('restart releases a new revision of the same image through the Rollout', async () => {
    const before = await getJson<{ status?: { stableRevision?: string } }>(cluster, [
      '-n',
      namespace,
      'rollout.flotilla.dev',
      'orders',
    ]);
    const restarted = await expectExit(inNamespace('restart', 'orders'), 0, 'restart');
    assert.match(restarted.stdout, /microservice orders: restart requested at \S+Z/);
    await expectExit(inNamespace('status', 'orders', '--until', 'Paused', '--timeout', '2m'), 0, 'the restart paused');
    const rollout = await getJson<{ status?: { stableRevision?: string; canaryRevision?: string } }>(cluster, [
      '-n',
      namespace,
      'rollout.flotilla.dev',
      'orders',
    ]);
    assert.equal(rollout.status?.stableRevision, before.status?.stableRevision);
    assert.ok(rollout.status?.canaryRevision && rollout.status.canaryRevision !== before.status?.stableRevision);
    await expectExit(inNamespace('promote', 'orders', '--full'), 0, 'promote the restart');
    await expectExit(inNamespace('status', 'orders', '--timeout', '2m'), 0, 'the restart released');
  });

  it('works the same as a single executable: get, and status of a released service', { timeout: 120_000 }, async () => {
    const executable = await buildExecutable(join(dir, 'kubectl-flotilla'));
    const run = (args: string[]) =>
      new Promise<Run>((resolve) => {
        execFile(
          executable,
          [...args, '--kubeconfig', cluster.kubeconfigPath, '-n', namespace],
          { env: { PATH: '', HOME: dir } },
          (error, stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
        );
      });
    const tree = await expectExit(run(['get', 'rollout', 'orders']), 0, 'get from the single executable');
    assert.match(tree.stdout, /Rollout orders {2}Canary {2}Healthy/);
    await expectExit(run(['status', 'orders', '--timeout', '30s']), 0, 'status from the single executable');
  });

  it('finds the cluster as kubectl does: several KUBECONFIG files merged, --context picks one', async () => {
    const real = load(readFileSync(cluster.kubeconfigPath, 'utf8')) as { 'current-context': string };
    const other = join(dir, 'other-config');
    writeFileSync(
      other,
      JSON.stringify({
        'current-context': 'nowhere',
        contexts: [{ name: 'nowhere', context: { cluster: 'nowhere', user: 'nobody', namespace } }],
        clusters: [{ name: 'nowhere', cluster: { server: 'https://127.0.0.1:1' } }],
        users: [{ name: 'nobody', user: { token: 'x' } }],
      }),
    );
    const KUBECONFIG = `${other}:${cluster.kubeconfigPath}`;
    // The first file's current-context wins: a cluster that does not answer
    const refused = await plugin(['get', 'orders'], { KUBECONFIG });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /error: /);
    // --context picks the real one from the second file; -n as given
    const found = await plugin(['get', 'orders', '--context', real['current-context'], '-n', namespace], {
      KUBECONFIG,
    });
    assert.equal(found.code, 0, found.stderr);
    assert.match(found.stdout, new RegExp(`^MicroService ${namespace}/orders`));
  });
});
