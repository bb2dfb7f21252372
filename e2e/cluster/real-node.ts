// A real node for the local control plane: containerd, runc and the CNI plugins from Debian, the
// kubelet and kube-proxy built beside the control plane, joined as node `flotilla-real-node` with a
// taint (simulated workloads stay on kwok's nodes). Everything it starts or changes on the machine
// is recorded in its state folder, and `down` takes all of it away again: processes, mounts, the
// bridge and the dummy interface, iptables chains, kubepods cgroups and the sysctls the kubelet sets.
//
// The network stays on this machine: the node's address is the gateway of the pods' bridge, made
// here (never eth0; this kernel has no dummy interfaces); the API server advertises it (so the
// `kubernetes` Service leads there through kube-proxy), and a socat relay on it forwards to the
// API server on loopback.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { CLUSTER_NAME, clusterToolDir, flotillaCacheRoot } from './paths.ts';

export const REAL_NODE_NAME = 'flotilla-real-node';
/** The taint and label of the real node: the chart's test tolerates the one and selects the other. */
export const REAL_NODE_TAINT = { key: 'flotilla.dev/real-node', value: 'true', effect: 'NoSchedule' } as const;
export const REAL_NODE_LABEL = 'flotilla.dev/real-node';
/** Annotations that put every Pod of a namespace on the real node (PodNodeSelector, PodTolerationRestriction). */
export const REAL_NODE_NAMESPACE_ANNOTATIONS = {
  'scheduler.alpha.kubernetes.io/node-selector': 'flotilla.dev/real-node=true',
  'scheduler.alpha.kubernetes.io/defaultTolerations': JSON.stringify([
    { key: 'flotilla.dev/real-node', operator: 'Exists', effect: 'NoSchedule' },
  ]),
};
/** The node's address: the gateway of the pods' subnet, on the bridge BRIDGE that up creates. */
export const NODE_ADDRESS = '172.30.1.1';
const BRIDGE = 'flotilla-cni0';
const POD_SUBNET = '172.30.1.0/24';
/** The API server's default service range is 10.0.0.0/24: the `kubernetes` Service is 10.0.0.1. */
const SERVICE_SUBNET = '10.0.0.0/24';
const KUBERNETES_SERVICE_IP = '10.0.0.1';
export const PAUSE_IMAGE = 'registry.k8s.io/pause:3.10';
/** Set by the kubelet (protectKernelDefaults: false); recorded before it starts, restored by down. */
const KUBELET_SYSCTLS = [
  'vm.overcommit_memory',
  'vm.panic_on_oom',
  'kernel.panic',
  'kernel.panic_on_oops',
  'kernel.keys.root_maxkeys',
  'kernel.keys.root_maxbytes',
];
/** Folders the kubelet and the CNI plugins use whatever they are told; removed by down when up made them. */
const FIXED_PATHS = [
  '/var/lib/cni',
  '/var/lib/kubelet', // its device-plugins socket, whatever --root-dir says
  '/var/log/pods',
  '/var/log/containers',
  '/run/containerd',
  '/run/netns',
];

function log(message: string): void {
  console.error(`[real node] ${message}`);
}

/** The folders of the real node of this cluster: state that survives (images) and state of one run. */
export function realNodePaths(env: NodeJS.ProcessEnv = process.env) {
  const state = join(flotillaCacheRoot(env), `real-node-${CLUSTER_NAME}`);
  const run = `/run/flotilla-node-${CLUSTER_NAME}`;
  return {
    state,
    run,
    containerdSocket: join(run, 'containerd.sock'),
    pids: join(state, 'pids'),
    logs: join(state, 'logs'),
    kubeletRoot: join(state, 'kubelet'),
    /** What up found before it changed the machine (sysctls, which fixed paths existed). */
    recorded: join(state, 'recorded.json'),
  };
}

/**
 * The API server's settings that a real node needs, part of every local cluster's configuration so
 * that a node can join a running cluster: the Service IP and the node's address in its certificate,
 * the node's address advertised, a client certificate for `kubectl logs/exec` to the kubelet, and
 * the admission plugins of REAL_NODE_NAMESPACE_ANNOTATIONS.
 */
export function realNodeApiServerSettings(clusterDir: string): string {
  const pki = join(clusterDir, 'pki');
  return [
    `  kubeApiserverCertSANs: [${KUBERNETES_SERVICE_IP}, ${NODE_ADDRESS}]`,
    'componentsPatches:',
    '- name: kube-apiserver',
    '  extraArgs:',
    `  - {key: advertise-address, value: ${NODE_ADDRESS}}`,
    `  - {key: kubelet-client-certificate, value: ${join(pki, 'admin.crt')}}`,
    `  - {key: kubelet-client-key, value: ${join(pki, 'admin.key')}}`,
    '  - {key: kubelet-preferred-address-types, value: InternalIP}',
    // A namespace's annotations can then put all its Pods on the real node (tolerate its taint,
    // select its label) without any field in the objects that make the Pods.
    '  - {key: enable-admission-plugins, value: "PodNodeSelector,PodTolerationRestriction"}',
    '',
  ].join('\n');
}

/** What the real node needs on the machine, with the Debian package that provides it. */
const REQUIRED_TOOLS: Array<[command: string, debianPackage: string]> = [
  ['containerd', 'containerd'],
  ['ctr', 'containerd'],
  ['runc', 'runc'],
  ['/usr/lib/cni/bridge', 'containernetworking-plugins'],
  ['iptables', 'iptables'],
  ['ip', 'iproute2'],
  ['socat', 'socat'],
  ['openssl', 'openssl'],
  ['gcc', 'gcc'],
  ['podman', 'podman'],
];

export function checkRealNodePrerequisites(): void {
  const paths = realNodePaths();
  const others = readdirSync('/run').filter(
    (entry) => entry.startsWith('flotilla-node-') && join('/run', entry) !== paths.run,
  );
  if (others.length > 0) {
    const other = others[0]?.slice('flotilla-node-'.length);
    throw new Error(
      `the real node of local cluster "${other}" runs on this machine (one at a time): ` +
        `FLOTILLA_CLUSTER_NAME=${other === 'flotilla' ? '' : other} npm run cluster -- down first`,
    );
  }
  if (process.getuid?.() !== 0) {
    throw new Error('a real node needs root (it runs containerd, the kubelet and iptables); run as root');
  }
  const missing = REQUIRED_TOOLS.filter(([command]) =>
    command.startsWith('/') ? !existsSync(command) : spawnSync('sh', ['-c', `command -v ${command}`]).status !== 0,
  );
  if (missing.length > 0) {
    const packages = [...new Set(missing.map(([, pkg]) => pkg))].join(' ');
    throw new Error(`a real node needs ${missing.map(([c]) => c).join(', ')}: apt-get install ${packages}`);
  }
}

function run(command: string, args: string[], options: { input?: string | Buffer; allowFailure?: boolean } = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', input: options.input, maxBuffer: 64 * 1024 * 1024 });
  if (!options.allowFailure && result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} failed (exit ${result.status}): ${result.stderr || result.error}`);
  }
  return result;
}

function elapsed(start: number): string {
  return `${((Date.now() - start) / 1000).toFixed(1)}s`;
}

async function phase<T>(name: string, work: () => T | Promise<T>): Promise<T> {
  const start = Date.now();
  log(`${name} ...`);
  const result = await work();
  log(`${name}: done in ${elapsed(start)}`);
  return result;
}

/** Polls `check` every half second until it holds; throws after `timeoutMs`. */
export async function waitFor(what: string, timeoutMs: number, check: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

// ---- processes -------------------------------------------------------------------------------

function pidFile(name: string): string {
  return join(realNodePaths().pids, `${name}.pid`);
}

function runningPid(name: string): number | undefined {
  const file = pidFile(name);
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').trim());
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

/** Starts a long-running program detached, its output in logs/<name>.log, its pid in pids/<name>.pid. */
function startDaemon(name: string, command: string, args: string[]): ChildProcess {
  const paths = realNodePaths();
  mkdirSync(paths.pids, { recursive: true });
  mkdirSync(paths.logs, { recursive: true });
  const out = openSync(join(paths.logs, `${name}.log`), 'a');
  const child = spawn(command, args, { detached: true, stdio: ['ignore', out, out] });
  closeSync(out);
  if (child.pid === undefined) throw new Error(`could not start ${command}`);
  writeFileSync(pidFile(name), `${child.pid}\n`);
  child.unref();
  return child;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM to each, then SIGKILL to those still alive after 15 s. */
async function stopPids(pids: number[], what: string): Promise<void> {
  const signal = (pid: number, name: NodeJS.Signals) => {
    try {
      process.kill(pid, name);
    } catch {
      // gone already
    }
  };
  for (const pid of pids) signal(pid, 'SIGTERM');
  const deadline = Date.now() + 15_000;
  while (pids.some(alive) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
  for (const pid of pids.filter(alive)) {
    log(`${what} (pid ${pid}) did not stop on SIGTERM; killing it`);
    signal(pid, 'SIGKILL');
  }
}

async function stopDaemon(name: string): Promise<void> {
  const pid = runningPid(name);
  if (pid !== undefined) await stopPids([pid], name);
  rmSync(pidFile(name), { force: true });
}

/** Processes whose command line names `needle` (the shims of our containerd carry its socket path). */
function pidsMentioning(needle: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmdline.includes(needle)) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

// ---- the machine's state -----------------------------------------------------------------------

function readSysctl(name: string): string | undefined {
  const file = `/proc/sys/${name.replaceAll('.', '/')}`;
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined;
}

interface Recorded {
  sysctls: Record<string, string>;
  /** The nftables tables before up (iptables-nft makes tables on first use). */
  nftTables: string[];
  /** The fixed paths that did not exist before up (down removes them). */
  createdPaths: string[];
}

function recordMachineState(): void {
  const { recorded } = realNodePaths();
  if (existsSync(recorded)) return; // recorded by an earlier up that was not taken down: keep the original
  const sysctls: Record<string, string> = {};
  for (const name of KUBELET_SYSCTLS) {
    const value = readSysctl(name);
    if (value !== undefined) sysctls[name] = value;
  }
  const state: Recorded = {
    sysctls,
    nftTables: nftTables(),
    createdPaths: FIXED_PATHS.filter((path) => !existsSync(path)),
  };
  writeFileSync(recorded, `${JSON.stringify(state, null, 2)}\n`);
}

/** Mount points at or under one of `roots`, deepest first. */
function mountsUnder(roots: string[]): string[] {
  const mounts = readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[1]?.replace(/\\040/g, ' '))
    .filter((mount): mount is string => !!mount);
  return mounts
    .filter((mount) => roots.some((root) => mount === root || mount.startsWith(`${root}/`)))
    .sort((a, b) => b.length - a.length);
}

function linkExists(name: string): boolean {
  return run('ip', ['link', 'show', name], { allowFailure: true }).status === 0;
}

/** iptables chains made by the kubelet, kube-proxy and the CNI plugins (IPv4 and IPv6), per table. */
const OUR_CHAIN = /^(KUBE-|CNI-)/;

function removeIptablesChains(): number {
  let removed = 0;
  for (const tool of ['iptables', 'ip6tables']) {
    for (const table of ['filter', 'nat', 'mangle']) {
      const rules = run(tool, ['-t', table, '-S'], { allowFailure: true }).stdout ?? '';
      const chains = rules
        .split('\n')
        .filter((line) => line.startsWith('-N '))
        .map((line) => line.slice(3))
        .filter((chain) => OUR_CHAIN.test(chain));
      // Jumps into our chains from the built-in chains first, then the chains themselves.
      for (const line of rules.split('\n')) {
        const match = /^-A (\S+) (.*-j (KUBE-\S+|CNI-\S+).*)$/.exec(line);
        if (match && !OUR_CHAIN.test(match[1] ?? '')) {
          run('sh', ['-c', `${tool} -t ${table} -D ${match[1]} ${match[2]}`], { allowFailure: true });
          removed++;
        }
      }
      for (const chain of chains) run(tool, ['-t', table, '-F', chain], { allowFailure: true });
      for (const chain of chains) {
        if (run(tool, ['-t', table, '-X', chain], { allowFailure: true }).status === 0) removed++;
      }
    }
  }
  return removed;
}

/** The nftables tables (`family name`), where iptables-nft keeps iptables' tables. */
function nftTables(): string[] {
  const listed = run('nft', ['list', 'tables'], { allowFailure: true });
  if (listed.status !== 0) return [];
  return listed.stdout
    .split('\n')
    .filter((line) => line.startsWith('table '))
    .map((line) => line.slice('table '.length).trim());
}

/** Tables that iptables-nft made for the node, now without a rule: deleted (up found them absent). */
function removeEmptyNftTables(before: string[]): number {
  let removed = 0;
  for (const table of nftTables().filter((t) => !before.includes(t))) {
    const [family = '', name = ''] = table.split(' ');
    const text = run('nft', ['list', 'table', family, name], { allowFailure: true }).stdout ?? '';
    const rules = text
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line && !/^(table |chain |type |policy |\})/.test(line));
    if (rules.length === 0 && run('nft', ['delete', 'table', family, name], { allowFailure: true }).status === 0) {
      removed++;
    }
  }
  return removed;
}

/** The processes of every pod: those in the kubepods cgroup (of the memory hierarchy, which every pod has). */
function kubepodsPids(): number[] {
  const pids: number[] = [];
  const walk = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(join(dir, entry.name));
      else if (entry.name === 'cgroup.procs') {
        for (const line of readFileSync(join(dir, entry.name), 'utf8').split('\n')) if (line) pids.push(Number(line));
      }
    }
  };
  walk('/sys/fs/cgroup/memory/kubepods');
  return pids;
}

/** The kubepods cgroups in every cgroup v1 hierarchy (and v2's unified one), deepest first. */
function removeKubepodsCgroups(): number {
  let removed = 0;
  const roots = readdirSync('/sys/fs/cgroup').map((controller) => join('/sys/fs/cgroup', controller, 'kubepods'));
  for (const root of roots) {
    if (!existsSync(root)) continue;
    const dirs: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir)) {
        const path = join(dir, entry);
        try {
          if (statSync(path).isDirectory()) walk(path);
        } catch {}
      }
      dirs.push(dir);
    };
    walk(root);
    for (const dir of dirs) {
      try {
        rmSync(dir, { recursive: false });
      } catch {
        run('rmdir', [dir], { allowFailure: true });
      }
      if (!existsSync(dir)) removed++;
    }
  }
  return removed;
}

// ---- up ----------------------------------------------------------------------------------------

export interface ControlPlane {
  bin: string;
  clusterDir: string;
  /** The API server's port on loopback. */
  apiServerPort: number;
  kubectl(args: string[]): ReturnType<typeof spawnSync>;
}

function openssl(args: string[]): void {
  run('openssl', args);
}

/** A client certificate signed by the cluster's CA, and a kubeconfig that uses it. */
function clientKubeconfig(cp: ControlPlane, name: string, subject: string): string {
  const dir = join(realNodePaths().state, 'pki');
  mkdirSync(dir, { recursive: true });
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const crt = join(dir, `${name}.crt`);
  const ca = join(cp.clusterDir, 'pki');
  openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', csr, '-subj', subject]);
  openssl([
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    join(ca, 'ca.crt'),
    '-CAkey',
    join(ca, 'ca.key'),
    '-CAcreateserial',
    '-CAserial',
    join(dir, 'ca.srl'),
    '-days',
    '365',
    '-out',
    crt,
  ]);
  const kubeconfig = join(dir, `${name}.kubeconfig`);
  writeFileSync(
    kubeconfig,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      `- name: local\n  cluster:\n    server: https://127.0.0.1:${cp.apiServerPort}\n    certificate-authority: ${join(ca, 'ca.crt')}`,
      `users:\n- name: ${name}\n  user:\n    client-certificate: ${crt}\n    client-key: ${key}`,
      `contexts:\n- name: local\n  context:\n    cluster: local\n    user: ${name}`,
      'current-context: local',
      '',
    ].join('\n'),
  );
  return kubeconfig;
}

function containerdConfig(): string {
  const paths = realNodePaths();
  const cni = join(paths.state, 'cni');
  mkdirSync(join(cni, 'net.d'), { recursive: true });
  writeFileSync(
    join(cni, 'net.d', '10-flotilla.conflist'),
    `${JSON.stringify(
      {
        cniVersion: '1.0.0',
        name: 'flotilla-real-node',
        plugins: [
          {
            type: 'bridge',
            bridge: BRIDGE,
            isGateway: true,
            ipMasq: false,
            hairpinMode: true,
            ipam: {
              type: 'host-local',
              ranges: [[{ subnet: POD_SUBNET, gateway: NODE_ADDRESS }]],
              routes: [{ dst: '0.0.0.0/0' }],
              dataDir: join(cni, 'ipam'),
            },
          },
          { type: 'portmap', capabilities: { portMappings: true } },
        ],
      },
      null,
      2,
    )}\n`,
  );
  const config = join(paths.state, 'containerd.toml');
  writeFileSync(
    config,
    `# containerd of the real node (written by e2e/cluster/real-node.ts)
version = 2
root = "${join(paths.state, 'containerd')}"
state = "${join(paths.run, 'containerd')}"
[grpc]
  address = "${paths.containerdSocket}"
[ttrpc]
  address = "${paths.containerdSocket}.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "${join(paths.state, 'containerd-opt')}"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${PAUSE_IMAGE}"
  # root here lacks CAP_SYS_RESOURCE: never lower a container's oom_score_adj below containerd's own
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${join(cni, 'net.d')}"
`,
  );
  return config;
}

function ctr(args: string[], input?: Buffer) {
  return run('ctr', ['--address', realNodePaths().containerdSocket, '-n', 'k8s.io', ...args], { input });
}

function podmanEnvScript(): string {
  return join(clusterToolDir, '..', '..', 'scripts', 'podman-env.sh');
}

/** Runs a shell snippet with the project's private Podman settings. */
export function withPodman(script: string): ReturnType<typeof spawnSync> {
  return spawnSync('bash', ['-c', `set -euo pipefail; source "${podmanEnvScript()}"; ${script}`], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
}

/** Moves an image from Podman's storage into the real node's containerd. */
export function loadImage(image: string): void {
  if (!existsSync(realNodePaths().containerdSocket)) {
    throw new Error('the real node is not up: `npm run cluster -- up --real-node` starts it');
  }
  const start = Date.now();
  const moved = withPodman(
    `podman save --format docker-archive ${JSON.stringify(image)} | ctr --address ${JSON.stringify(realNodePaths().containerdSocket)} -n k8s.io images import --no-unpack=false -`,
  );
  if (moved.status !== 0) throw new Error(`moving ${image} into the real node failed (exit ${moved.status})`);
  log(`${image}: loaded into the real node in ${elapsed(start)}`);
}

/** The pause image: a static C program that sleeps until told to stop and reaps its children. */
function buildPauseImage(): void {
  const dir = join(realNodePaths().state, 'pause');
  mkdirSync(dir, { recursive: true });
  run('gcc', ['-static', '-Os', '-s', '-o', join(dir, 'pause'), join(clusterToolDir, 'pause.c')]);
  writeFileSync(
    join(dir, 'Containerfile'),
    'FROM scratch\nCOPY pause /pause\nUSER 65535:65535\nENTRYPOINT ["/pause"]\n',
  );
  const built = withPodman(
    `podman build --quiet --pull=never --network=none -t ${PAUSE_IMAGE} ${JSON.stringify(dir)} >/dev/null`,
  );
  if (built.status !== 0) throw new Error('building the pause image failed; podman output is above');
}

function kubeletConfig(cp: ControlPlane): string {
  const paths = realNodePaths();
  const config = join(paths.state, 'kubelet-config.yaml');
  writeFileSync(
    config,
    `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# This machine runs cgroup v1 without systemd.
failCgroupV1: false
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://${paths.containerdSocket}
address: ${NODE_ADDRESS}
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: ${join(cp.clusterDir, 'pki', 'ca.crt')}}
authorization: {mode: Webhook}
registerWithTaints:
- {key: ${REAL_NODE_TAINT.key}, value: "${REAL_NODE_TAINT.value}", effect: ${REAL_NODE_TAINT.effect}}
clusterDomain: cluster.local
resolvConf: /etc/resolv.conf
protectKernelDefaults: false
failSwapOn: false
podCIDR: ${POD_SUBNET}
maxPods: 60
serializeImagePulls: false
imageGCHighThresholdPercent: 100
evictionHard: {memory.available: 100Mi, nodefs.available: 2%, imagefs.available: 2%}
`,
  );
  return config;
}

function nodeReady(cp: ControlPlane): boolean {
  const result = cp.kubectl([
    'get',
    'node',
    REAL_NODE_NAME,
    '-o',
    'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
  ]);
  return result.status === 0 && String(result.stdout).trim() === 'True';
}

export function realNodeRunning(): boolean {
  return runningPid('kubelet') !== undefined;
}

export async function upRealNode(cp: ControlPlane): Promise<void> {
  checkRealNodePrerequisites();
  const paths = realNodePaths();
  const start = Date.now();
  mkdirSync(paths.state, { recursive: true });
  mkdirSync(paths.run, { recursive: true });
  recordMachineState();

  await phase(`network: bridge ${BRIDGE} (${NODE_ADDRESS}) and a relay to the API server`, () => {
    if (!linkExists(BRIDGE)) {
      run('ip', ['link', 'add', BRIDGE, 'type', 'bridge']);
      run('ip', ['addr', 'add', `${NODE_ADDRESS}/24`, 'dev', BRIDGE]);
      run('ip', ['link', 'set', BRIDGE, 'up']);
      // Service IPs that kube-proxy has not (yet) written rules for go to the bridge, where nobody
      // answers, instead of out of the machine's default route.
      run('ip', ['route', 'add', SERVICE_SUBNET, 'dev', BRIDGE]);
    }
    // The API server listens on loopback; pods reach it at the node's address through this relay.
    const relayArgs = [
      `TCP-LISTEN:${cp.apiServerPort},bind=${NODE_ADDRESS},reuseaddr,fork`,
      `TCP:127.0.0.1:${cp.apiServerPort}`,
    ];
    const relayFile = join(paths.state, 'relay-args');
    if (runningPid('apiserver-relay') === undefined || readFileSync(relayFile, 'utf8') !== relayArgs.join(' ')) {
      void stopDaemon('apiserver-relay');
      startDaemon('apiserver-relay', 'socat', relayArgs);
      writeFileSync(relayFile, relayArgs.join(' '));
    }
  });

  const kubeconfigs = await phase('certificates: kubelet and kube-proxy, signed by the cluster CA', () => ({
    kubelet: clientKubeconfig(cp, 'kubelet', `/O=system:nodes/CN=system:node:${REAL_NODE_NAME}`),
    kubeProxy: clientKubeconfig(cp, 'kube-proxy', '/CN=system:kube-proxy'),
  }));

  await phase('containerd', async () => {
    if (runningPid('containerd') === undefined) {
      startDaemon('containerd', 'containerd', ['--config', containerdConfig()]);
    }
    await waitFor('containerd to answer', 30_000, () => {
      const version = spawnSync('ctr', ['--address', paths.containerdSocket, 'version'], { stdio: 'ignore' });
      return version.status === 0;
    });
  });

  await phase(`pause image ${PAUSE_IMAGE}`, () => {
    const present = ctr(['images', 'ls', '-q']).stdout.split('\n').includes(PAUSE_IMAGE);
    if (present) return;
    if (withPodman(`podman image exists ${PAUSE_IMAGE}`).status !== 0) buildPauseImage();
    loadImage(PAUSE_IMAGE);
  });

  await phase(`kubelet (node ${REAL_NODE_NAME}, tainted ${REAL_NODE_TAINT.key}) and kube-proxy`, async () => {
    if (runningPid('kubelet') === undefined) {
      mkdirSync(paths.kubeletRoot, { recursive: true });
      startDaemon('kubelet', join(cp.bin, 'kubelet'), [
        `--config=${kubeletConfig(cp)}`,
        `--kubeconfig=${kubeconfigs.kubelet}`,
        `--root-dir=${paths.kubeletRoot}`,
        `--cert-dir=${join(paths.state, 'kubelet-pki')}`,
        `--hostname-override=${REAL_NODE_NAME}`,
        `--node-ip=${NODE_ADDRESS}`,
        `--node-labels=${REAL_NODE_LABEL}=true`,
        '--v=1',
      ]);
    }
    if (runningPid('kube-proxy') === undefined) {
      startDaemon('kube-proxy', join(cp.bin, 'kube-proxy'), kubeProxyArgs(kubeconfigs.kubeProxy));
    }
    await waitFor(`node ${REAL_NODE_NAME} to be Ready`, 120_000, () => nodeReady(cp));
  });
  log(`real node ${REAL_NODE_NAME} Ready in ${elapsed(start)}; logs in ${paths.logs}`);
}

function kubeProxyArgs(kubeconfig: string): string[] {
  return [
    `--kubeconfig=${kubeconfig}`,
    '--proxy-mode=iptables',
    `--hostname-override=${REAL_NODE_NAME}`,
    `--cluster-cidr=${POD_SUBNET}`,
    // Replies of a pod behind a Service to a pod on the same bridge come back through the host.
    '--masquerade-all=true',
    '--bind-address=127.0.0.1',
    '--healthz-bind-address=127.0.0.1:10256',
    '--metrics-bind-address=127.0.0.1:10249',
    // Leave the machine's sysctls alone: no conntrack sizing, no route_localnet for NodePorts.
    '--conntrack-max-per-core=0',
    '--conntrack-tcp-timeout-established=0',
    '--conntrack-tcp-timeout-close-wait=0',
    '--iptables-localhost-nodeports=false',
    '--v=1',
  ];
}

// ---- down --------------------------------------------------------------------------------------

/** Takes the real node away and puts the machine back as up found it. Harmless when it is not up. */
export async function downRealNode(bin: string, kubectl?: (args: string[]) => unknown): Promise<void> {
  const paths = realNodePaths();
  // Its run folder exists from up to down: without it there is nothing of this cluster's node here
  // (the bridge, if any, belongs to another local cluster's node).
  if (!existsSync(paths.run)) return;
  const start = Date.now();
  log('taking the real node down');
  await stopDaemon('kubelet');
  // Every container of every pod, then their shims (which carry our containerd's socket path).
  await stopPids(kubepodsPids(), 'a container process');
  const containerd = runningPid('containerd');
  await stopPids(
    pidsMentioning(paths.containerdSocket).filter((pid) => pid !== containerd),
    'a containerd shim',
  );
  await stopDaemon('containerd');
  await stopDaemon('kube-proxy');
  await stopDaemon('apiserver-relay');
  if (existsSync(join(bin, 'kube-proxy'))) {
    run(join(bin, 'kube-proxy'), ['--cleanup', '--proxy-mode=iptables'], { allowFailure: true });
  }
  const removedChains = removeIptablesChains();
  const recorded: Recorded = existsSync(paths.recorded)
    ? JSON.parse(readFileSync(paths.recorded, 'utf8'))
    : { sysctls: {}, nftTables: [], createdPaths: [] };
  // Our mounts: under our folders, under the fixed paths up created, and the pods' network namespaces.
  const mounts = [
    ...mountsUnder([paths.state, paths.run, ...recorded.createdPaths]),
    ...mountsUnder(['/run/netns', '/var/run/netns']).filter((mount) => /\/cni-[^/]*$/.test(mount)),
  ];
  for (const mount of mounts) run('umount', ['-l', mount], { allowFailure: true });
  if (linkExists(BRIDGE)) run('ip', ['link', 'delete', BRIDGE]);
  const removedTables = recorded.nftTables ? removeEmptyNftTables(recorded.nftTables) : 0;
  const removedCgroups = removeKubepodsCgroups();
  for (const [name, value] of Object.entries(recorded.sysctls)) {
    if (readSysctl(name) !== value) run('sysctl', ['-q', '-w', `${name}=${value}`], { allowFailure: true });
  }
  for (const path of recorded.createdPaths) rmSync(path, { recursive: true, force: true });
  for (const netns of existsSync('/run/netns') ? readdirSync('/run/netns') : []) {
    if (netns.startsWith('cni-')) rmSync(join('/run/netns', netns), { force: true });
  }
  rmSync(paths.run, { recursive: true, force: true });
  // The images stay (containerd's content store, reused by the next up); the rest goes.
  for (const entry of existsSync(paths.state) ? readdirSync(paths.state) : []) {
    if (entry !== 'containerd' && entry !== 'pause') rmSync(join(paths.state, entry), { recursive: true, force: true });
  }
  kubectl?.(['delete', 'node', REAL_NODE_NAME, '--ignore-not-found', '--wait=false']);
  log(
    `real node down in ${elapsed(start)}: ${mounts.length} mounts, ${removedChains} iptables chains and jumps, ` +
      `${removedCgroups} cgroups, ${removedTables} emptied nftables tables removed; sysctls restored`,
  );
}

export function realNodeStatus(): string[] {
  const paths = realNodePaths();
  if (!realNodeRunning())
    return [`real node: not running${existsSync(paths.state) ? ` (state in ${paths.state})` : ''}`];
  const daemons = ['containerd', 'kubelet', 'kube-proxy', 'apiserver-relay'].map(
    (name) => `${name} ${runningPid(name) ?? 'stopped'}`,
  );
  return [`real node ${REAL_NODE_NAME} at ${NODE_ADDRESS}: ${daemons.join(', ')}; logs in ${paths.logs}`];
}
