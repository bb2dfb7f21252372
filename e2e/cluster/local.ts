// The local control plane: etcd, kube-apiserver, kube-controller-manager, kube-scheduler and
// kwok's controller, built from source (build.sh) and run by kwokctl's binary runtime on loopback.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ClusterBackend, type ClusterStatus, planStopStart } from './backend.ts';
import {
  binariesDir,
  CLUSTER_NAME,
  clusterToolDir,
  kwokWorkdir,
  localClusterDir,
  localKubeconfigPath,
  readVersions,
} from './paths.ts';
import {
  checkRealNodePrerequisites,
  downRealNode,
  loadImage,
  realNodeApiServerSettings,
  realNodeStatus,
  upRealNode,
  waitFor,
} from './real-node.ts';

const SIMULATED_NODES = 2;

function log(message: string): void {
  console.error(`[cluster] ${message}`);
}

function elapsedSince(start: number): string {
  return `${((Date.now() - start) / 1000).toFixed(1)}s`;
}

/** Runs build.sh (a no-op when every program is cached) and returns the folder of the programs. */
async function buildPrograms(realNode: boolean): Promise<string> {
  const expected = binariesDir(readVersions());
  const args = [join(clusterToolDir, 'build.sh'), ...(realNode ? ['--real-node'] : [])];
  const child = spawn('bash', args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) {
    throw new Error(
      `building the local control plane failed (build.sh exit ${code}); its output is above. ` +
        'It needs Go >= 1.26 and the Go module proxy.',
    );
  }
  const reported = stdout.trim().split('\n').at(-1);
  if (reported !== expected) throw new Error(`build.sh reported ${reported}, expected ${expected}`);
  return expected;
}

/** The stages kwok runs: its defaults (copied by build.sh) plus Flotilla's own. */
export function stageFiles(bin: string): string[] {
  const defaults = join(bin, '..', 'kwok-default-stages');
  const ours = join(clusterToolDir, 'stages');
  const yaml = (dir: string) =>
    readdirSync(dir)
      .filter((f) => f.endsWith('.yaml'))
      .sort()
      .map((f) => join(dir, f));
  return [...yaml(defaults), ...yaml(ours)];
}

/**
 * kwokctl's configuration: our settings, the API server's flags that let a real node join at any
 * time (`up --real-node`) without a restart, then kwok's default stages and Flotilla's own.
 */
function kwokctlConfig(bin: string): string {
  const settings = `${readFileSync(join(clusterToolDir, 'kwokctl-config.yaml'), 'utf8').trim()}\n${realNodeApiServerSettings(localClusterDir())}`;
  const stages = stageFiles(bin).map((f) => readFileSync(f, 'utf8').trim());
  return `${[settings.trim(), ...stages].join('\n---\n')}\n`;
}

function kwokctl(bin: string, args: string[], options: { quiet?: boolean } = {}) {
  return spawnSync(join(bin, 'kwokctl'), ['--name', CLUSTER_NAME, ...args], {
    encoding: 'utf8',
    env: kwokEnv(bin),
    stdio: options.quiet ? 'pipe' : ['ignore', 'inherit', 'inherit'],
  });
}

function kwokEnv(bin: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    // kwokctl polls `kubectl get --raw /version` while starting; it must find the built kubectl.
    PATH: `${bin}:${process.env.PATH ?? ''}`,
    KWOK_WORKDIR: kwokWorkdir(),
    KWOK_RUNTIME: 'binary',
  };
}

function kubectl(bin: string, args: string[]) {
  return spawnSync(join(bin, 'kubectl'), ['--kubeconfig', localKubeconfigPath(), ...args], {
    encoding: 'utf8',
    timeout: 30_000,
  });
}

function clusterExists(bin: string): boolean {
  const result = kwokctl(bin, ['get', 'clusters'], { quiet: true });
  return result.status === 0 && result.stdout.split('\n').some((line) => line.trim() === CLUSTER_NAME);
}

function apiServerAnswers(bin: string): boolean {
  return existsSync(localKubeconfigPath()) && kubectl(bin, ['get', '--raw', '/readyz']).status === 0;
}

function readyNodeCount(bin: string): number {
  const result = kubectl(bin, [
    'get',
    'nodes',
    '-o',
    'jsonpath={range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}',
  ]);
  if (result.status !== 0) return 0;
  return result.stdout.split('\n').filter((s) => s === 'True').length;
}

/** The built programs' folder, or an error naming what is missing (stop and start never build). */
function builtPrograms(): string {
  const bin = binariesDir(readVersions());
  if (!existsSync(join(bin, 'kwokctl'))) {
    throw new Error('the local control plane was never built: `npm run cluster -- up` builds and creates it');
  }
  return bin;
}

/** The controllers that elect a leader on a Lease in kube-system; after a restart they must win it again. */
const LEADING_COMPONENTS = ['kube-controller-manager', 'kube-scheduler'];

/**
 * Whether every Lease was acquired at or after `since` (ms since the epoch): a restarted
 * kube-controller-manager waits out its predecessor's 15 s lease before it runs any controller.
 */
export function leasesAcquiredSince(acquireTimes: readonly string[], expected: number, since: number): boolean {
  return acquireTimes.length === expected && acquireTimes.every((time) => Date.parse(time) >= since);
}

function leaseAcquireTimes(bin: string): string[] {
  const result = kubectl(bin, [
    'get',
    'lease',
    '-n',
    'kube-system',
    ...LEADING_COMPONENTS,
    '-o',
    'jsonpath={range .items[*]}{.spec.acquireTime}{"\\n"}{end}',
  ]);
  if (result.status !== 0) return [];
  return result.stdout.split('\n').filter((line) => line !== '');
}

async function waitUntilServing(bin: string): Promise<void> {
  await waitFor('the API server to answer /readyz', 120_000, () => apiServerAnswers(bin));
  await waitFor(`${SIMULATED_NODES} Ready nodes`, 60_000, () => readyNodeCount(bin) >= SIMULATED_NODES);
}

/** The running control plane, as the real node needs it. */
function controlPlane(bin: string) {
  const server = kubectl(bin, ['config', 'view', '--minify', '-o', 'jsonpath={.clusters[0].cluster.server}']);
  const apiServerPort = Number(new URL(server.stdout.trim()).port);
  return { bin, clusterDir: localClusterDir(), apiServerPort, kubectl: (args: string[]) => kubectl(bin, args) };
}

export const localControlPlane: ClusterBackend = {
  name: 'local control plane (kwok, binary runtime)',

  kubeconfigPath: localKubeconfigPath,

  async up({ realNode = false } = {}): Promise<void> {
    const start = Date.now();
    const steps = realNode ? 4 : 3;
    if (realNode) checkRealNodePrerequisites();
    log(`step 1/${steps}: building the control plane programs (cached after the first time)`);
    const bin = await buildPrograms(realNode);
    log(`step 1/${steps} done in ${elapsedSince(start)}`);

    const config = kwokctlConfig(bin);
    const configPath = join(
      kwokWorkdir(),
      CLUSTER_NAME === 'flotilla' ? 'kwokctl.yaml' : `kwokctl-${CLUSTER_NAME}.yaml`,
    );
    const sameConfig = existsSync(configPath) && readFileSync(configPath, 'utf8') === config;
    if (clusterExists(bin) && sameConfig && apiServerAnswers(bin)) {
      log(`step 2/${steps}: cluster "${CLUSTER_NAME}" is already up; reusing it`);
    } else {
      if (clusterExists(bin)) {
        log(`step 2/${steps}: cluster "${CLUSTER_NAME}" is stopped or its configuration changed; recreating it`);
        kwokctl(bin, ['delete', 'cluster'], { quiet: true });
      } else {
        log(`step 2/${steps}: creating cluster "${CLUSTER_NAME}" with kwokctl`);
      }
      mkdirSync(kwokWorkdir(), { recursive: true });
      writeFileSync(configPath, config);
      const created = kwokctl(bin, [
        'create',
        'cluster',
        '--runtime',
        'binary',
        '--config',
        configPath,
        '--kubeconfig',
        '',
        '--etcd-binary',
        join(bin, 'etcd'),
        '--kube-apiserver-binary',
        join(bin, 'kube-apiserver'),
        '--kube-controller-manager-binary',
        join(bin, 'kube-controller-manager'),
        '--kube-scheduler-binary',
        join(bin, 'kube-scheduler'),
        '--kwok-controller-binary',
        join(bin, 'kwok'),
        '--wait',
        '2m',
      ]);
      if (created.status !== 0) {
        kwokctl(bin, ['delete', 'cluster'], { quiet: true });
        throw new Error(`kwokctl create cluster failed (exit ${created.status}); its output is above`);
      }
    }
    await waitFor('the API server to answer /readyz', 120_000, () => apiServerAnswers(bin));
    log(`step 2/${steps} done in ${elapsedSince(start)}`);

    log(`step 3/${steps}: ${SIMULATED_NODES} simulated nodes`);
    const scaled = kwokctl(bin, ['scale', 'node', '--replicas', String(SIMULATED_NODES)]);
    if (scaled.status !== 0) throw new Error(`kwokctl scale node failed (exit ${scaled.status})`);
    await waitFor(`${SIMULATED_NODES} Ready nodes`, 60_000, () => readyNodeCount(bin) >= SIMULATED_NODES);
    if (realNode) {
      log(`step 4/${steps}: the real node (containerd, kubelet, kube-proxy)`);
      await upRealNode(controlPlane(bin));
      log(`step 4/${steps} done in ${elapsedSince(start)}`);
    }
    log(`cluster up in ${elapsedSince(start)}; kubeconfig: ${localKubeconfigPath()}`);
  },

  async loadImage(image: string): Promise<void> {
    loadImage(image);
  },

  async down(): Promise<void> {
    const bin = binariesDir(readVersions());
    if (!existsSync(join(bin, 'kwokctl'))) {
      log('nothing to stop: the local control plane was never built');
      return;
    }
    await downRealNode(bin, apiServerAnswers(bin) ? (args) => kubectl(bin, args) : undefined);
    if (!clusterExists(bin)) {
      log(`nothing to stop: no cluster "${CLUSTER_NAME}"`);
      return;
    }
    const deleted = kwokctl(bin, ['delete', 'cluster']);
    if (deleted.status !== 0) throw new Error(`kwokctl delete cluster failed (exit ${deleted.status})`);
    log(`cluster "${CLUSTER_NAME}" deleted; no process of it is left`);
  },

  // kwokctl has no per-component stop: `stop cluster` ends every process of the control plane
  // (etcd, kube-apiserver, controllers, kwok) and keeps etcd's data folder, so `start cluster`
  // brings back the same objects. Killing kube-apiserver alone was tried: it takes up to a minute
  // to drain its watches on SIGTERM, and the controllers' leader election may end them meanwhile.
  async stop(): Promise<void> {
    const bin = builtPrograms();
    const answering = apiServerAnswers(bin);
    if (planStopStart('stop', clusterExists(bin), answering) === 'nothing-to-do') {
      log(`cluster "${CLUSTER_NAME}" is already stopped`);
      return;
    }
    const start = Date.now();
    const stopped = kwokctl(bin, ['stop', 'cluster'], { quiet: true });
    if (stopped.status !== 0)
      throw new Error(`kwokctl stop cluster failed (exit ${stopped.status}): ${stopped.stderr}`);
    await waitFor('the API server to stop answering', 30_000, () => !apiServerAnswers(bin));
    log(
      `cluster "${CLUSTER_NAME}" stopped in ${elapsedSince(start)}; its objects are kept (\`npm run cluster -- start\`)`,
    );
  },

  async start(): Promise<void> {
    const bin = builtPrograms();
    const start = Date.now();
    let restartedAt = 0;
    if (planStopStart('start', clusterExists(bin), apiServerAnswers(bin)) === 'nothing-to-do') {
      log(`cluster "${CLUSTER_NAME}" is already running`);
    } else {
      restartedAt = start;
      // Whatever is left of a half-stopped cluster goes first, so that every component starts afresh.
      kwokctl(bin, ['stop', 'cluster'], { quiet: true });
      const started = kwokctl(bin, ['start', 'cluster'], { quiet: true });
      if (started.status !== 0) {
        throw new Error(`kwokctl start cluster failed (exit ${started.status}): ${started.stderr}`);
      }
    }
    await waitUntilServing(bin);
    // Clocks agree (one machine); a second of slack for the Lease's rounding. When nothing was
    // restarted the leases are held already: this returns at once.
    await waitFor(`${LEADING_COMPONENTS.join(' and ')} to lead again`, 90_000, () =>
      leasesAcquiredSince(leaseAcquireTimes(bin), LEADING_COMPONENTS.length, restartedAt - 1_000),
    );
    log(`cluster "${CLUSTER_NAME}" serving in ${elapsedSince(start)}; kubeconfig: ${localKubeconfigPath()}`);
  },

  async status(): Promise<ClusterStatus> {
    const bin = binariesDir(readVersions());
    const lines: string[] = [`backend: local control plane, programs in ${bin}`];
    if (!existsSync(join(bin, 'kwokctl'))) {
      return { running: false, lines: [...lines, 'not built yet: `npm run cluster -- up` builds it (15-40 min)'] };
    }
    if (!clusterExists(bin)) {
      return { running: false, lines: [...lines, `cluster "${CLUSTER_NAME}": not created`] };
    }
    const running = apiServerAnswers(bin);
    lines.push(`cluster "${CLUSTER_NAME}": ${running ? 'running' : 'stopped'}`);
    lines.push(`state and logs: ${join(kwokWorkdir(), 'clusters', CLUSTER_NAME)}`);
    lines.push(`kubeconfig: ${localKubeconfigPath()}`);
    if (running) {
      const server = kubectl(bin, ['config', 'view', '--minify', '-o', 'jsonpath={.clusters[0].cluster.server}']);
      lines.push(`API server: ${server.stdout.trim()}`);
      const version = kubectl(bin, ['version', '-o', 'json']);
      if (version.status === 0) {
        lines.push(`Kubernetes: ${JSON.parse(version.stdout).serverVersion?.gitVersion ?? 'unknown'}`);
      }
      lines.push(`Ready nodes: ${readyNodeCount(bin)}`);
      const components = kwokctl(bin, ['get', 'components'], { quiet: true });
      if (components.status === 0) lines.push('components:', ...components.stdout.trimEnd().split('\n'));
    }
    lines.push(...realNodeStatus());
    return { running, lines };
  },
};
