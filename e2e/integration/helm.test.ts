// The Helm chart on the real cluster, as a platform team meets it: `helm lint`, a wrong value
// refused with the field named, `helm install` into a namespace that enforces the restricted Pod
// Security Standard (the operator's Pods admitted, Ready through kwok), `helm upgrade`, `helm
// uninstall` (the CRDs stay). Then the operator runs as a process with a token of the chart's
// ServiceAccount — not the admin kubeconfig — and the shop reconciles, which shows the RBAC is
// enough; `kubectl auth can-i --list` for that ServiceAccount is compared with
// rbac-snapshot.txt, which shows it is no more. After a deliberate RBAC change, rewrite the
// snapshot with FLOTILLA_UPDATE_SNAPSHOTS=1 and review its diff.
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { dump } from 'js-yaml';
import { binariesDir, readVersions } from '../cluster/paths.ts';
import { connectToCluster } from '../support/cluster.ts';
import { eventually } from '../support/eventually.ts';
import { kubectlFails } from './api-support.ts';
import { conditionOf, exists, getJson, SHOP_SERVICES, shopSamples } from './microservice-support.ts';

const execFileAsync = promisify(execFile);
const cluster = await connectToCluster();

const HELM = join(binariesDir(readVersions()), 'helm');
const CHART = fileURLToPath(new URL('../../charts/flotilla/', import.meta.url));
const MAIN = fileURLToPath(new URL('../../operator/src/main.ts', import.meta.url));
const SNAPSHOT = fileURLToPath(new URL('./rbac-snapshot.txt', import.meta.url));

const id = Date.now().toString(36);
const release = `flotilla-${id}`; // holds the chart name, so it is also every resource's full name
const releaseNamespace = `helm-${id}`;
const shopNamespace = `helm-shop-${id}`;
const serviceAccount = `system:serviceaccount:${releaseNamespace}:${release}`;
const lease = `${release}-leader`;

async function helm(args: string[]): Promise<string> {
  const { stdout } = await execFileAsync(HELM, ['--kubeconfig', cluster.kubeconfigPath, ...args], {
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout;
}

/** Runs helm expecting a failure; returns what it printed (lint reports on stdout, install on stderr). */
async function helmFails(args: string[]): Promise<string> {
  let stdout: string;
  try {
    stdout = await helm(args);
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    return `${stdout}${stderr}`;
  }
  throw new Error(`helm ${args.join(' ')} succeeded, but should have failed:\n${stdout}`);
}

/** What the ServiceAccount may do in `namespace`, with this run's id taken out. */
async function canIList(namespace: string): Promise<string> {
  const text = await cluster.kubectl(['auth', 'can-i', '--list', `--as=${serviceAccount}`, '-n', namespace]);
  return text.replaceAll(id, '<id>');
}

/** A kubeconfig for the cluster of the tests that authenticates with `token` alone. */
function tokenKubeconfig(dir: string, token: string): string {
  const current = cluster.kubeConfig.getCurrentCluster();
  assert.ok(current, 'the test kubeconfig names a cluster');
  const caData = current.caData ?? (current.caFile ? readFileSync(current.caFile).toString('base64') : undefined);
  const path = join(dir, 'kubeconfig.yaml');
  writeFileSync(
    path,
    dump({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'cluster', cluster: { server: current.server, 'certificate-authority-data': caData } }],
      users: [{ name: 'flotilla', user: { token } }],
      contexts: [{ name: 'flotilla', context: { cluster: 'cluster', user: 'flotilla' } }],
      'current-context': 'flotilla',
    }),
    { mode: 0o600 },
  );
  return path;
}

interface DeploymentJson {
  spec: { replicas: number; template: { spec: { containers: { args: string[] }[] } } };
  status: { readyReplicas?: number };
}

const snapshot: string[] = [];

describe('the Helm chart', { concurrency: false }, () => {
  before(async () => {
    await cluster.kubectl(['create', 'namespace', releaseNamespace]);
    await cluster.kubectl([
      'label',
      'namespace',
      releaseNamespace,
      'pod-security.kubernetes.io/enforce=restricted',
      'pod-security.kubernetes.io/enforce-version=latest',
    ]);
    await cluster.kubectl(['create', 'namespace', shopNamespace]);
  });
  after(async () => {
    await helm(['uninstall', release, '-n', releaseNamespace, '--ignore-not-found']).catch(() => {});
    await cluster.kubectl(['delete', 'namespace', releaseNamespace, shopNamespace, '--wait=false']);
  });

  it('passes helm lint --strict', async () => {
    await helm(['lint', CHART, '--strict']);
    await helm(['lint', CHART, '--strict', '--set', `watchNamespace=shop`]);
  });

  it('renders namespaced RBAC for watchNamespace, and a ServiceMonitor only when asked', async () => {
    const namespaced = await helm(['template', 'f', CHART, '-n', 'ops', '--set', 'watchNamespace=shop']);
    assert.match(namespaced, /kind: Role\n\s*metadata:\n\s*name: f-flotilla\n\s*namespace: shop/);
    assert.match(namespaced, /- --namespace=shop/);
    assert.doesNotMatch(namespaced, /kind: ClusterRole\n\s*metadata:\n\s*name: f-flotilla\n/);
    assert.doesNotMatch(namespaced, /kind: ServiceMonitor/);
    const monitored = await helm(['template', 'f', CHART, '--set', 'metrics.serviceMonitor.enabled=true']);
    assert.match(monitored, /kind: ServiceMonitor/);
  });

  it('refuses a wrong value at lint and at install, naming the field', async () => {
    const lint = await helmFails(['lint', CHART, '--set', 'replicaCount=0', '--set', 'logLevel=loud']);
    assert.match(lint, /\/replicaCount': minimum: got 0, want 1/);
    assert.match(lint, /\/logLevel': value must be one of 'trace', 'debug', 'info', 'warn', 'error', 'fatal'/);
    const install = await helmFails([
      'install',
      release,
      CHART,
      '-n',
      releaseNamespace,
      '--set',
      'securityContext.allowPrivilegeEscalation=true',
      '--set',
      'watchNamespace=Not_A_Namespace',
    ]);
    assert.match(install, /\/securityContext\/allowPrivilegeEscalation': value must be false/);
    assert.match(install, /\/watchNamespace': 'Not_A_Namespace' does not match pattern/);
    // A rule across fields is checked when the chart renders (install, upgrade, template); lint only reports it.
    const timing = await helmFails(['template', 'f', CHART, '--set', 'leaderElection.renewDeadline=20']);
    assert.match(timing, /need retryPeriod < renewDeadline < leaseDuration, got 2 < 20 < 15/);
    assert.ok(!(await exists(cluster, ['-n', releaseNamespace, 'deployment', release])), 'nothing was installed');
  });

  it('installs into a namespace that enforces the restricted Pod Security Standard; the Pods are admitted and Ready', {
    timeout: 120_000,
  }, async () => {
    // The label is enforced: a Pod that breaks the standard is refused there.
    const refused = await kubectlFails(cluster, ['-n', releaseNamespace, 'run', 'root', '--image=busybox']);
    assert.match(refused, /violates PodSecurity "restricted:latest"/);

    const notes = await helm(['install', release, CHART, '-n', releaseNamespace, '--wait', '--timeout', '90s']);
    assert.match(notes, /STATUS: deployed/);
    assert.match(notes, new RegExp(`kubectl -n ${releaseNamespace} rollout status deployment/${release}`));
    const deployment = await getJson<DeploymentJson>(cluster, ['-n', releaseNamespace, 'deployment', release]);
    assert.equal(deployment.spec.replicas, 2);
    assert.equal(deployment.status.readyReplicas, 2);
    const args = deployment.spec.template.spec.containers[0]?.args ?? [];
    assert.ok(args.includes('--health-probe-bind-address=:8081'), 'health listens on every address in the Pod');
    assert.ok(args.includes(`--leader-election-name=${lease}`));
    for (const kind of ['serviceaccount', 'service', 'poddisruptionbudget']) {
      const name = kind === 'service' ? `${release}-metrics` : release;
      assert.ok(await exists(cluster, ['-n', releaseNamespace, kind, name]), `${kind} ${name}`);
    }
    for (const crd of ['microservices', 'rollouts', 'databaseservers']) {
      assert.ok(await exists(cluster, ['crd', `${crd}.flotilla.dev`]), `crd ${crd}`);
    }
    snapshot.push(
      '# default values (every namespace): in the release namespace',
      await canIList(releaseNamespace),
      '# default values: in any other namespace',
      await canIList(shopNamespace),
    );
  });

  it('upgrades with new values', { timeout: 120_000 }, async () => {
    await helm([
      'upgrade',
      release,
      CHART,
      '-n',
      releaseNamespace,
      '--reuse-values',
      '--set',
      'replicaCount=3',
      '--set',
      'logLevel=debug',
      '--wait',
      '--timeout',
      '90s',
    ]);
    const deployment = await getJson<DeploymentJson>(cluster, ['-n', releaseNamespace, 'deployment', release]);
    assert.equal(deployment.status.readyReplicas, 3);
    assert.ok(deployment.spec.template.spec.containers[0]?.args.includes('--log-level=debug'));
    assert.match(await helm(['history', release, '-n', releaseNamespace]), /\n2\s.*deployed/);
  });

  it('uninstalls, and keeps the CRDs', { timeout: 60_000 }, async () => {
    await helm(['uninstall', release, '-n', releaseNamespace, '--wait']);
    assert.ok(!(await exists(cluster, ['-n', releaseNamespace, 'deployment', release])));
    assert.ok(!(await exists(cluster, ['clusterrole', release])));
    assert.ok(!(await exists(cluster, ['clusterrolebinding', `${release}-cluster`])));
    for (const crd of ['microservices', 'rollouts', 'databaseservers']) {
      assert.ok(await exists(cluster, ['crd', `${crd}.flotilla.dev`]), `crd ${crd} kept`);
    }
  });

  it('with watchNamespace, the operator runs on the ServiceAccount token alone and reconciles the shop', {
    timeout: 180_000,
  }, async () => {
    // Namespaced RBAC, so that this operator touches no other test's namespace. Its Pods are scaled
    // to none: the process below is the operator.
    await helm(['install', release, CHART, '-n', releaseNamespace, '--set', `watchNamespace=${shopNamespace}`]);
    await cluster.kubectl(['-n', releaseNamespace, 'scale', 'deployment', release, '--replicas=0']);
    const token = (await cluster.kubectl(['-n', releaseNamespace, 'create', 'token', release])).trim();
    const dir = mkdtempSync(join(tmpdir(), 'flotilla-helm-'));
    let operator: ChildProcess | undefined;
    try {
      const kubeconfig = tokenKubeconfig(dir, token);
      const identity = `helm-test-${id}`;
      operator = spawn(
        process.execPath,
        [
          MAIN,
          'run',
          '--kubeconfig',
          kubeconfig,
          '--namespace',
          shopNamespace,
          '--leader-election-namespace',
          releaseNamespace,
          '--leader-election-name',
          lease,
          '--leader-election-identity',
          identity,
          '--health-probe-bind-address',
          '127.0.0.1:0',
          '--metrics-bind-address',
          '127.0.0.1:0',
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      const exited = new Promise<number | null>((resolve) => operator?.once('exit', (code) => resolve(code)));
      const lines: string[] = [];
      createInterface({ input: operator.stdout as NodeJS.ReadableStream }).on('line', (line) => lines.push(line));
      createInterface({ input: operator.stderr as NodeJS.ReadableStream }).on('line', (line) => lines.push(line));

      await eventually('the process leads through the Lease in the release namespace', async () => {
        const held = await getJson<{ spec: { holderIdentity?: string } }>(cluster, [
          '-n',
          releaseNamespace,
          'lease',
          lease,
        ]);
        assert.equal(held.spec.holderIdentity, identity);
      });
      await cluster.kubectl(['apply', '-f', '-'], {
        // On a DatabaseServer no other run made (npm start's postgres-main and rabbitmq-main keep their admin
        // Secrets in flotilla-system, which this release may not read): the samples' databases, caches and
        // broker users report ServerNotFound.
        input: JSON.stringify({
          kind: 'List',
          apiVersion: 'v1',
          items: shopSamples(shopNamespace).map((doc) => withAbsentDatabaseServer(doc, `${shopNamespace}-absent`)),
        }),
      });
      for (const name of SHOP_SERVICES) {
        await eventually(
          `${name} Ready`,
          async () => {
            assert.equal((await conditionOf(cluster, shopNamespace, name, 'Ready'))?.status, 'True');
            assert.equal((await conditionOf(cluster, shopNamespace, name, 'Degraded'))?.status, 'False');
          },
          { timeoutMs: 60_000 },
        );
        for (const kind of ['service', 'networkpolicy']) {
          assert.ok(await exists(cluster, ['-n', shopNamespace, kind, name]), `${kind} ${name}`);
        }
        // orders is released by its Rollout: its Deployment is named after its revision.
        const deployments = await cluster.kubectl([
          '-n',
          shopNamespace,
          'get',
          'deployments',
          '-o',
          'name',
          '-l',
          `app.kubernetes.io/name=${name}`,
        ]);
        assert.notEqual(deployments.trim(), '', `deployment of ${name}`);
      }
      assert.ok(await exists(cluster, ['-n', shopNamespace, 'hpa', 'orders']), 'the autoscaled service has an HPA');
      const events = await getJson<{ items: { source?: { component?: string } }[] }>(cluster, [
        '-n',
        shopNamespace,
        'events',
      ]);
      assert.ok(
        events.items.some((event) => event.source?.component === 'flotilla'),
        'Events recorded',
      );
      operator.kill('SIGTERM');
      assert.equal(await exited, 0, 'stops cleanly on SIGTERM');
      // The stop released the Lease (an update the Role allows on that name only) ...
      const released = await getJson<{ spec: { holderIdentity?: string } }>(cluster, [
        '-n',
        releaseNamespace,
        'lease',
        lease,
      ]);
      assert.equal(released.spec.holderIdentity ?? '', '', 'the Lease is released on SIGTERM');
      // ... and nothing, from the first list to the release, was refused.
      const forbidden = lines.filter((line) => /forbidden/i.test(line));
      assert.deepEqual(
        forbidden,
        [],
        'no request was refused (RBAC denials say: forbidden: User "system:serviceaccount:…")',
      );
    } finally {
      if (operator && operator.exitCode === null && operator.signalCode === null) operator.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
    snapshot.push(
      '# watchNamespace=helm-shop-<id>: in the watched namespace',
      await canIList(shopNamespace),
      '# watchNamespace: in the release namespace',
      await canIList(releaseNamespace),
      '# watchNamespace: in any other namespace',
      await canIList('default'),
    );
  });

  it('grants exactly what rbac-snapshot.txt records', () => {
    const text = `${snapshot.join('\n')}\n`;
    if (process.env.FLOTILLA_UPDATE_SNAPSHOTS === '1') writeFileSync(SNAPSHOT, text);
    assert.equal(
      text,
      readFileSync(SNAPSHOT, 'utf8'),
      'the ServiceAccount may do other things than rbac-snapshot.txt records: if that is meant, rerun with FLOTILLA_UPDATE_SNAPSHOTS=1 and review the diff',
    );
  });
});

/** The sample with its database, cache and messaging (if any) on the DatabaseServer `server`. */
function withAbsentDatabaseServer(doc: object, server: string): object {
  const spec = (doc as { spec?: Record<string, unknown> }).spec;
  if (!spec) return doc;
  const moved = Object.fromEntries(
    (['database', 'cache', 'messaging'] as const)
      .filter((field) => spec[field] !== undefined)
      .map((field) => [field, { ...(spec[field] as object), serverRef: server }]),
  );
  return Object.keys(moved).length === 0 ? doc : { ...doc, spec: { ...spec, ...moved } };
}
