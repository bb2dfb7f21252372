// `npm start [-- <flotilla run flags>]`: the operator on a cluster, from a fresh checkout, in one
// command. Each step is printed to stderr:
//   1. find the cluster of the kubeconfig in use (as `flotilla run` would: --kubeconfig, in-cluster,
//      $KUBECONFIG, ~/.kube/config, the local cluster's); when none answers, bring up the local
//      cluster (`npm run cluster -- up`);
//   2. install Flotilla's CRDs from crds/ (server-side apply) and wait until they are Established;
//   3. on the local cluster only, install Istio's and the Gateway API's CRDs (real ones, from their
//      Go modules; see route-crds.ts), so that routes are written;
//   4. apply the shop samples (samples/); on the local cluster, bring up the private PostgreSQL, MariaDB
//      and RabbitMQ (`npm run databases -- up`) and point the samples' DatabaseServers at them;
//   5. run `flotilla run` as a child process, forwarding SIGINT/SIGTERM, until it stops.
// The operator's logs are pino JSON on stdout; when stdout is a terminal they go through pino-pretty
// (FLOTILLA_LOG_FORMAT=json keeps them JSON). `flotilla run` itself never creates a cluster.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { binariesDir, flotillaCacheRoot, readVersions } from '../e2e/cluster/paths.ts';
import { currentClusterFile } from '../e2e/support/cluster.ts';
import { loadKubeConfig } from '../operator/src/cli/kubeconfig.ts';
import { createTransport } from '../operator/src/kube/transport.ts';
import { loopbackServers } from './database-servers.ts';
import { type RouteCrds, routeCrds } from './route-crds.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MAIN = join(ROOT, 'operator', 'src', 'main.ts');
const CRDS_DIR = join(ROOT, 'crds');
const SAMPLES_DIR = join(ROOT, 'samples');

export interface StartArgs {
  /** --kubeconfig given to npm start, if any (also forwarded to flotilla run). */
  kubeconfig?: string;
  /** Flags for `flotilla run`, as given. */
  runArgs: string[];
  /** --no-samples: do not apply samples/. */
  samples: boolean;
  /** --no-route-crds: do not install Istio's and the Gateway API's CRDs. */
  routeCrds: boolean;
  /** --no-databases: do not bring up the database servers for the samples. */
  databases: boolean;
}

/** Splits npm start's own flags (--no-samples, --no-route-crds) from those of `flotilla run`. */
export function parseStartArgs(argv: string[]): StartArgs {
  const args: StartArgs = { runArgs: [], samples: true, routeCrds: true, databases: true };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--no-samples') args.samples = false;
    else if (arg === '--no-route-crds') args.routeCrds = false;
    else if (arg === '--no-databases') args.databases = false;
    else {
      if (arg === '--kubeconfig' && i + 1 < argv.length) args.kubeconfig = argv[i + 1];
      else if (arg.startsWith('--kubeconfig=')) args.kubeconfig = arg.slice('--kubeconfig='.length);
      args.runArgs.push(arg);
    }
  }
  return args;
}

const say = (message: string): void => {
  process.stderr.write(`flotilla start: ${message}\n`);
};

function fail(message: string): never {
  say(`FAILED: ${message}`);
  process.exit(1);
}

/** The kubeconfig file in use and whether its API server answers within 5 s. */
async function clusterInUse(explicit: string | undefined): Promise<{ path?: string; why?: string }> {
  let loaded: ReturnType<typeof loadKubeConfig>;
  try {
    loaded = loadKubeConfig(explicit);
  } catch (error) {
    return { why: error instanceof Error ? error.message : String(error) };
  }
  const server = loaded.kubeConfig.getCurrentCluster()?.server ?? '(no server)';
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('no answer within 5 s')), 5_000);
  });
  try {
    const transport = await createTransport(loaded.kubeConfig);
    try {
      await Promise.race([
        transport.request({ verb: 'GET', path: '/version' }).then(({ body }) => body.dump()),
        timeout,
      ]);
    } finally {
      void transport.close();
    }
    return loaded.inCluster ? { path: 'in-cluster' } : { path: loaded.source };
  } catch (error) {
    return {
      why: `${server} (from ${loaded.source}) does not answer: ${error instanceof Error ? error.message : error}`,
    };
  } finally {
    clearTimeout(timer);
  }
}

/** The local cluster's kubeconfig, per the pointer `npm run cluster -- up` writes. */
function localClusterKubeconfig(): string | undefined {
  const pointer = currentClusterFile();
  return existsSync(pointer) ? readFileSync(pointer, 'utf8').trim() : undefined;
}

function kubectlBinary(): string {
  try {
    const built = join(binariesDir(readVersions()), 'kubectl');
    if (existsSync(built)) return built;
  } catch {
    // no versions.env: use kubectl from PATH
  }
  return 'kubectl';
}

function runKubectl(
  kubeconfig: string,
  args: string[],
  input?: string,
): { ok: boolean; stdout: string; error: string } {
  const base = kubeconfig === 'in-cluster' ? [] : ['--kubeconfig', kubeconfig];
  const result = spawnSync(kubectlBinary(), [...base, ...args], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    ...(input !== undefined ? { input } : {}),
  });
  if (result.error) return { ok: false, stdout: '', error: result.error.message };
  return { ok: result.status === 0, stdout: result.stdout, error: result.stderr.trim() };
}

/** Runs kubectl; prints its output unless `quiet`; stops npm start when it fails. */
function kubectl(kubeconfig: string, args: string[], quiet = false, input?: string): void {
  const result = runKubectl(kubeconfig, args, input);
  if (!result.ok) fail(`kubectl ${args.join(' ')}: ${result.error}`);
  if (quiet) return;
  for (const line of result.stdout.trim().split('\n').filter(Boolean)) say(`  ${line}`);
}

/**
 * Waits until the CRDs (`kubectl wait` targets) are Established. Retried: kubectl fails at once
 * on a CRD just created, whose status has no conditions yet.
 */
async function waitEstablished(kubeconfig: string, targets: string[]): Promise<void> {
  const args = ['wait', '--for=condition=Established', '--timeout=60s', ...targets];
  for (let attempt = 1; ; attempt++) {
    const result = runKubectl(kubeconfig, args);
    if (result.ok) return;
    if (attempt === 10) fail(`kubectl ${args.join(' ')}: ${result.error}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

function bringUpLocalCluster(): string {
  say('no reachable cluster: bringing up the local one (`npm run cluster -- up`; the first time builds it)');
  const up = spawnSync(process.execPath, [join(ROOT, 'e2e', 'cluster', 'cli.ts'), 'up'], {
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
  });
  if (up.status !== 0) fail(`the local cluster did not come up (exit ${up.status ?? up.signal}); its output is above`);
  const path = up.stdout.trim().split('\n').pop() ?? '';
  if (!existsSync(path)) fail(`the cluster tool printed no kubeconfig (${JSON.stringify(up.stdout)})`);
  return path;
}

function describeRouteCrds(crds: RouteCrds): string {
  const { source } = crds;
  if (crds.origin === 'stand-in') {
    return `${source.name}: MINIMAL STAND-INS (${crds.names.join(', ')}), any fields accepted: ${crds.note}`;
  }
  const from = crds.origin === 'cache' ? `cached in ${crds.file}` : `fetched through the Go module proxy`;
  return `${source.name} ${source.version}: ${crds.names.length} CRDs from ${source.module} (${from})`;
}

/** Runs `flotilla run`; forwards SIGINT/SIGTERM; resolves with its exit code. */
function runOperator(kubeconfig: string | undefined, runArgs: string[]): Promise<number> {
  const args = [MAIN, 'run', ...(kubeconfig ? ['--kubeconfig', kubeconfig] : []), ...runArgs];
  const pretty = process.stdout.isTTY && process.env.FLOTILLA_LOG_FORMAT !== 'json';
  say(`running: node ${args.map((a) => (a === MAIN ? 'operator/src/main.ts' : a)).join(' ')}`);
  say(
    pretty
      ? 'logs below, made readable by pino-pretty (FLOTILLA_LOG_FORMAT=json for the raw JSON); Ctrl-C stops'
      : 'logs below as JSON lines on stdout; Ctrl-C or SIGTERM stops',
  );
  // Its own process group, so that Ctrl-C reaches it once, through us, not twice (a second
  // signal makes the operator exit at once).
  const child: ChildProcess = spawn(process.execPath, args, {
    stdio: ['ignore', pretty ? 'pipe' : 'inherit', 'inherit'],
    detached: true,
  });
  if (pretty && child.stdout) {
    const stdout = child.stdout;
    void import('pino-pretty').then(({ default: prettyStream }) => {
      stdout.pipe(
        prettyStream({
          colorize: true,
          translateTime: 'SYS:HH:MM:ss.l',
          ignore: 'pid,hostname,component',
          singleLine: true,
          sync: true,
        }),
      );
    });
  }
  const forward = (signal: NodeJS.Signals) => {
    say(`${signal}: stopping the operator`);
    child.kill(signal);
  };
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      say(`the operator stopped (${signal ?? `exit ${code}`})`);
      resolve(code ?? 1);
    });
  });
}

/** The samples' DatabaseServers and admin Secrets, for the private servers on 127.0.0.1. */
async function pointSamplesAtLoopbackDatabases(kubeconfig: string): Promise<void> {
  say('  the database servers of the samples: `npm run databases -- up` (--no-databases skips this)');
  const { manifests, notes } = await loopbackServers();
  for (const note of notes) say(`  ${note}`);
  if (manifests.length === 0) return;
  kubectl(
    kubeconfig,
    ['apply', '-f', '-'],
    false,
    JSON.stringify({ apiVersion: 'v1', kind: 'List', items: manifests }),
  );
}

async function main(): Promise<void> {
  const args = parseStartArgs(process.argv.slice(2));

  say('1/5 finding the cluster');
  const inUse = await clusterInUse(args.kubeconfig);
  let kubeconfig = inUse.path;
  let local = false;
  if (kubeconfig) {
    local = kubeconfig === localClusterKubeconfig();
    say(`  using ${kubeconfig}${local ? ' (the local cluster)' : ''}`);
  } else {
    say(`  ${inUse.why}`);
    if (args.kubeconfig)
      fail('the cluster of --kubeconfig does not answer; npm start brings up a cluster only without it');
    kubeconfig = bringUpLocalCluster();
    local = true;
    say(`  using ${kubeconfig} (the local cluster)`);
  }

  say('2/5 installing the Flotilla CRDs (crds/, server-side apply)');
  kubectl(kubeconfig, ['apply', '--server-side', '--force-conflicts', '-f', CRDS_DIR]);
  await waitEstablished(kubeconfig, ['-f', CRDS_DIR]);
  say('  Established');

  if (!local) {
    say('3/5 not the local cluster: Istio and the Gateway API are left as they are');
  } else if (!args.routeCrds) {
    say('3/5 --no-route-crds: Istio and the Gateway API CRDs are not installed');
  } else {
    say("3/5 installing Istio's and the Gateway API's CRDs, so that routes are written");
    for (const crds of routeCrds(join(flotillaCacheRoot(), 'route-crds'))) {
      say(`  ${describeRouteCrds(crds)}`);
      kubectl(kubeconfig, ['apply', '--server-side', '--force-conflicts', '-f', crds.file], true);
      await waitEstablished(
        kubeconfig,
        crds.names.map((name) => `crd/${name}`),
      );
      say(`  applied (server-side) and Established: ${crds.names.join(', ')}`);
    }
  }

  if (args.samples) {
    say('4/5 applying the shop samples (`kubectl apply -f samples/`, as a user would)');
    kubectl(kubeconfig, ['apply', '-f', SAMPLES_DIR]);
    if (local && args.databases) await pointSamplesAtLoopbackDatabases(kubeconfig);
  } else {
    say('4/5 --no-samples: samples/ not applied');
  }

  say('5/5 starting the operator');
  // A kubeconfig given on the command line is forwarded as given; in-cluster needs none.
  const explicit = args.kubeconfig !== undefined || kubeconfig === 'in-cluster' ? undefined : kubeconfig;
  process.exitCode = await runOperator(explicit, args.runArgs);
}

if (import.meta.main) {
  main().catch((error: unknown) => fail(error instanceof Error ? (error.stack ?? error.message) : String(error)));
}
