// The kind backend. Where a Docker engine answers and kind is on PATH it runs kind as users do, with
// kind's published node image. Elsewhere (this project's machines: no Docker engine, no registry) it
// runs kind on Podman (KIND_EXPERIMENTAL_PROVIDER=podman) with kind and a node image built here
// (kind-image/build.sh), in a Podman storage of its own.
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { dump, load } from 'js-yaml';
import { type ClusterBackend, type ClusterStatus, planStopStart } from './backend.ts';
import {
  CLUSTER_NAME,
  clusterToolDir,
  flotillaCacheRoot,
  kindKubeconfigPath,
  parseEnvFile,
  readVersions,
} from './paths.ts';

export type KindProvider = 'docker' | 'podman';

/** Docker with kind's published node image where an engine answers and kind is installed; else Podman. */
export function planKindProvider(dockerAnswers: boolean, kindOnPath: boolean): KindProvider {
  return dockerAnswers && kindOnPath ? 'docker' : 'podman';
}

/** The kind cluster's own Podman storage and settings (scripts/podman-env.sh with FLOTILLA_PODMAN_DIR). */
export function kindPodmanDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(flotillaCacheRoot(env), 'podman-kind');
}

/** The project's kind config (e2e/kind-config.yaml). */
export const KIND_CONFIG = join(clusterToolDir, '..', 'kind-config.yaml');

/**
 * The kind config for a node image built here: the project's, with one more kubeadm patch that
 * names the etcd image the node holds (the local control plane's etcd, not the version kubeadm
 * would pull). kind's published node images need no such patch.
 */
export function kindConfigForBuiltImage(projectConfig: string, etcdVersion: string): string {
  const config = load(projectConfig) as { kubeadmConfigPatches?: string[] };
  const etcdPatch = `kind: ClusterConfiguration\netcd:\n  local:\n    imageTag: ${etcdVersion.replace(/^v/, '')}-0\n`;
  return dump({ ...config, kubeadmConfigPatches: [...(config.kubeadmConfigPatches ?? []), etcdPatch] });
}

/** `kind create cluster`'s arguments: the config, and the node image when one was built here. */
export function kindCreateArgs(
  clusterName: string,
  kubeconfig: string,
  nodeImage?: string,
  config = KIND_CONFIG,
): string[] {
  return [
    'create',
    'cluster',
    '--name',
    clusterName,
    '--config',
    config,
    '--kubeconfig',
    kubeconfig,
    ...(nodeImage ? ['--image', nodeImage] : []),
    '--wait',
    '5m',
  ];
}

const podmanEnvScript = join(clusterToolDir, '..', '..', 'scripts', 'podman-env.sh');
const kindImageVersions = parseEnvFile(
  readFileSync(join(clusterToolDir, 'kind-image', 'versions.env'), 'utf8'),
  'kind-image/versions.env',
);

let chosen: KindProvider | undefined;
function provider(): KindProvider {
  if (!chosen) {
    const dockerAnswers = spawnSync('docker', ['info'], { stdio: 'ignore', timeout: 10_000 }).status === 0;
    const kindOnPath = spawnSync('kind', ['version'], { stdio: 'ignore' }).status === 0;
    chosen = planKindProvider(dockerAnswers, kindOnPath);
  }
  return chosen;
}

function log(message: string): void {
  console.error(`[cluster] ${message}`);
}

async function phase<T>(name: string, work: () => T | Promise<T>): Promise<T> {
  const start = Date.now();
  log(`${name} ...`);
  const result = await work();
  log(`${name}: done in ${((Date.now() - start) / 1000).toFixed(1)}s`);
  return result;
}

/** Runs a program with the kind cluster's Podman settings (and kind's Podman provider). */
function withKindPodman(command: string, args: string[], quiet: boolean): SpawnSyncReturns<string> {
  return spawnSync('bash', ['-c', `source "${podmanEnvScript}" && exec "$0" "$@"`, command, ...args], {
    encoding: 'utf8',
    stdio: quiet ? 'pipe' : ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, FLOTILLA_PODMAN_DIR: kindPodmanDir(), KIND_EXPERIMENTAL_PROVIDER: 'podman' },
  });
}

/** Where kind-image/build.sh puts the kind binary it builds (must match it). */
function builtKindBinary(): string {
  const k8s = parseEnvFile(readFileSync(join(clusterToolDir, 'versions.env'), 'utf8')).get('KUBERNETES_VERSION');
  return join(flotillaCacheRoot(), `kind-${kindImageVersions.get('KIND_VERSION')}-k8s-${k8s}`, 'bin', 'kind');
}

function kind(args: string[], quiet = false): SpawnSyncReturns<string> {
  if (provider() === 'docker') {
    return spawnSync('kind', args, { encoding: 'utf8', stdio: quiet ? 'pipe' : ['ignore', 'inherit', 'inherit'] });
  }
  if (!existsSync(builtKindBinary())) {
    throw new Error(`kind is not built yet (${builtKindBinary()}): \`npm run cluster -- up\` builds it`);
  }
  return withKindPodman(builtKindBinary(), args, quiet);
}

/** docker or podman (the kind cluster's own storage), for the node containers. */
function engine(args: string[]): SpawnSyncReturns<string> {
  if (provider() === 'docker') return spawnSync('docker', args, { encoding: 'utf8', stdio: 'pipe' });
  return withKindPodman('podman', args, true);
}

function clusterExists(): boolean {
  if (provider() === 'podman' && !existsSync(builtKindBinary())) return false;
  const result = kind(['get', 'clusters'], true);
  return result.status === 0 && result.stdout.split('\n').includes(CLUSTER_NAME);
}

/** The containers of the cluster's nodes (control plane and workers). */
function nodeContainers(): string[] {
  const result = kind(['get', 'nodes', '--name', CLUSTER_NAME], true);
  if (result.status !== 0) throw new Error(`kind get nodes failed: ${result.stderr}`);
  return result.stdout.split('\n').filter((line) => line.trim() !== '');
}

function apiServerAnswers(): boolean {
  return (
    spawnSync('kubectl', ['--kubeconfig', kindKubeconfigPath(), 'get', '--raw', '/readyz'], {
      stdio: 'ignore',
      timeout: 30_000,
    }).status === 0
  );
}

async function waitFor(what: string, timeoutMs: number, check: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

function exportKubeconfig(): void {
  const exported = kind(['export', 'kubeconfig', '--name', CLUSTER_NAME, '--kubeconfig', kindKubeconfigPath()]);
  if (exported.status !== 0) throw new Error('kind export kubeconfig failed; its output is above');
}

/** Builds (once; cached) kind and the node image; returns the node image's name. */
function buildNodeImage(): string {
  const built = spawnSync('bash', [join(clusterToolDir, 'kind-image', 'build.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, FLOTILLA_PODMAN_DIR: kindPodmanDir() },
  });
  if (built.status !== 0) throw new Error('building kind and its node image failed; the output is above');
  const [kindBinary, nodeImage] = built.stdout.trim().split('\n').slice(-2);
  if (kindBinary !== builtKindBinary() || !nodeImage) {
    throw new Error(
      `kind-image/build.sh printed ${JSON.stringify(built.stdout.slice(-300))}, not kind and a node image`,
    );
  }
  return nodeImage;
}

/** The operator image's name: localhost/flotilla:<package.json version> (`npm run image`). */
function operatorImage(): string {
  const pkg = JSON.parse(readFileSync(join(clusterToolDir, '..', '..', 'package.json'), 'utf8')) as { version: string };
  return `localhost/flotilla:${pkg.version}`;
}

/** Moves an image from the project's Podman storage (`npm run image`) into every kind node. */
function loadFromProjectPodman(image: string): void {
  const archive = join(kindPodmanDir(), 'tmp', `load-${process.pid}.tar`);
  mkdirSync(dirname(archive), { recursive: true });
  try {
    const saved = spawnSync(
      'bash',
      ['-c', `source "${podmanEnvScript}" && podman save --quiet --format docker-archive -o "$1" "$0"`, image, archive],
      { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, FLOTILLA_PODMAN_DIR: '' } },
    );
    if (saved.status !== 0) throw new Error(`podman save ${image} failed; its output is above`);
    const loaded = kind(['load', 'image-archive', archive, '--name', CLUSTER_NAME]);
    if (loaded.status !== 0) throw new Error(`kind load image-archive (${image}) failed; its output is above`);
  } finally {
    rmSync(archive, { force: true });
  }
}

function projectPodmanHas(image: string): boolean {
  return (
    spawnSync('bash', ['-c', `source "${podmanEnvScript}" && podman image exists "$0"`, image], {
      stdio: 'ignore',
      env: { ...process.env, FLOTILLA_PODMAN_DIR: '' },
    }).status === 0
  );
}

async function loadImage(image: string): Promise<void> {
  if (provider() === 'docker') {
    const loaded = kind(['load', 'docker-image', image, '--name', CLUSTER_NAME]);
    if (loaded.status !== 0) throw new Error(`kind load docker-image ${image} failed; its output is above`);
    return;
  }
  await phase(`load ${image} into the kind nodes`, () => loadFromProjectPodman(image));
}

export const kindCluster: ClusterBackend = {
  name: 'kind',
  kubeconfigPath: kindKubeconfigPath,
  loadImage,

  async up(): Promise<void> {
    const started = Date.now();
    mkdirSync(dirname(kindKubeconfigPath()), { recursive: true });
    log(
      `kind on ${provider() === 'docker' ? "Docker, with kind's published node image" : 'Podman, with a node image built here'}`,
    );
    const nodeImage =
      provider() === 'podman' ? await phase('kind and its node image (built once, cached)', buildNodeImage) : undefined;
    if (clusterExists()) {
      exportKubeconfig();
      log(`kind cluster "${CLUSTER_NAME}" is already up; reusing it`);
      return;
    }
    // kind mounts the host's /lib/modules into every node; a machine without loadable modules has none.
    if (!existsSync('/lib/modules')) mkdirSync('/lib/modules');
    let config = KIND_CONFIG;
    if (nodeImage) {
      config = join(dirname(kindKubeconfigPath()), 'kind-config.yaml');
      writeFileSync(config, kindConfigForBuiltImage(readFileSync(KIND_CONFIG, 'utf8'), readVersions().ETCD_VERSION));
    }
    await phase(`kind create cluster ${CLUSTER_NAME}`, () => {
      const created = kind(kindCreateArgs(CLUSTER_NAME, kindKubeconfigPath(), nodeImage, config));
      if (created.status !== 0) throw new Error('kind create cluster failed; its output is above');
    });
    if (provider() === 'podman') {
      const image = operatorImage();
      if (projectPodmanHas(image)) await loadImage(image);
      else
        log(
          `no operator image ${image} to load: \`npm run image\` builds it, \`npm run cluster -- load-image\` loads it`,
        );
    }
    log(`kind cluster "${CLUSTER_NAME}" is up in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  },

  async down(): Promise<void> {
    if (!clusterExists()) return;
    const deleted = kind(['delete', 'cluster', '--name', CLUSTER_NAME, '--kubeconfig', kindKubeconfigPath()]);
    if (deleted.status !== 0) throw new Error('kind delete cluster failed; its output is above');
    if (provider() === 'podman' && kind(['get', 'clusters'], true).stdout.trim() === '') {
      // The last kind cluster gone: its Podman network and Podman's empty cgroups go too.
      spawnSync(
        'bash',
        [
          '-c',
          `source "${podmanEnvScript}" && { podman network rm kind >/dev/null 2>&1 || true; } && remove_empty_podman_cgroups`,
        ],
        { stdio: 'ignore', env: { ...process.env, FLOTILLA_PODMAN_DIR: kindPodmanDir() } },
      );
    }
  },

  // Stopping every node container keeps the cluster's state; starting them may publish the API
  // server on a new host port, so the kubeconfig is exported again before waiting for Ready nodes.
  async stop(): Promise<void> {
    const exists = clusterExists();
    if (planStopStart('stop', exists, exists && apiServerAnswers()) === 'nothing-to-do') return;
    const stopped = engine(['stop', ...nodeContainers()]);
    if (stopped.status !== 0) throw new Error(`stopping the kind nodes failed: ${stopped.stderr}`);
  },

  async start(): Promise<void> {
    const exists = clusterExists();
    if (planStopStart('start', exists, exists && apiServerAnswers()) === 'act') {
      const started = engine(['start', ...nodeContainers()]);
      if (started.status !== 0) throw new Error(`starting the kind nodes failed: ${started.stderr}`);
    }
    exportKubeconfig();
    await waitFor('the API server to answer /readyz', 180_000, apiServerAnswers);
    const ready = spawnSync(
      'kubectl',
      ['--kubeconfig', kindKubeconfigPath(), 'wait', '--for=condition=Ready', 'nodes', '--all', '--timeout=180s'],
      { stdio: ['ignore', 'inherit', 'inherit'] },
    );
    if (ready.status !== 0) throw new Error('the nodes did not become Ready within 180s');
  },

  async status(): Promise<ClusterStatus> {
    const running = clusterExists();
    const lines = [
      `backend: kind (${provider() === 'docker' ? 'Docker' : `Podman, storage ${kindPodmanDir()}`})`,
      `cluster "${CLUSTER_NAME}": ${running ? 'running' : 'not created'}`,
      `kubeconfig: ${kindKubeconfigPath()}`,
    ];
    if (running && apiServerAnswers()) {
      const kubectl = (args: string[]) =>
        spawnSync('kubectl', ['--kubeconfig', kindKubeconfigPath(), ...args], { encoding: 'utf8', timeout: 30_000 });
      const version = kubectl(['version', '-o', 'json']);
      if (version.status === 0) {
        lines.push(`Kubernetes: ${JSON.parse(version.stdout).serverVersion?.gitVersion ?? 'unknown'}`);
      }
      const ready = kubectl([
        'get',
        'nodes',
        '-o',
        'jsonpath={range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}',
      ]);
      lines.push(`Ready nodes: ${ready.stdout.split('\n').filter((s) => s === 'True').length}`);
    }
    return { running, lines };
  },
};
