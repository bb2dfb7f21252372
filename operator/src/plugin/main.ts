#!/usr/bin/env node
// kubectl-flotilla: the kubectl plugin (`kubectl flotilla ...`). See `kubectl flotilla --help` and
// the README's "kubectl plugin" section. Exit codes: 0 done; 1 an error (lint findings, an object
// not found, a refused request) or, for `status`, Degraded/Aborted; `status` also 2 (timeout) and
// 3 (held at a pause only a person ends).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Argument, Command, CommanderError, Option } from 'commander';
import { dump } from 'js-yaml';
import packageJson from '../../../package.json' with { type: 'json' };
import type { MicroService } from '../api/microservice.ts';
import type { Rollout } from '../api/rollout.ts';
import { microServiceType, rolloutType } from '../controllers/microservice/resources.ts';
import { parseDuration } from '../desired/duration.ts';
import { createKubeClient, type KubeClient } from '../kube/client.ts';
import { KubeApiError } from '../kube/errors.ts';
import {
  actedOn,
  describeOutcome,
  imagePatch,
  kubectlEquivalent,
  type RolloutAction,
  restartPatch,
  rolloutPatch,
} from './actions.ts';
import { completeWords, completionScript, flagsIn, SHELLS, type Shell } from './completion.ts';
import { buildFleet, renderFleet } from './fleet.ts';
import {
  gatherService,
  parseTargetKind,
  rolloutFor,
  serviceWatchTargets,
  type TargetKind,
  watchChanges,
} from './gather.ts';
import { type KubectlFlags, resolveAccess } from './kubeconfig.ts';
import { formatFinding, type LintSource, lintSources } from './lint.ts';
import { renderTree, styleFor } from './render.ts';
import { type Awaited, decideServiceStatus, decideStatus, EXIT, type Verdict } from './status.ts';
import { buildServiceView } from './view.ts';

const out = (text: string) => process.stdout.write(text);
const err = (text: string) => process.stderr.write(text);

/** Thrown to end the command with an exit code after its output is written. */
class Exit extends Error {
  readonly code: number;
  constructor(code: number) {
    super(`exit ${code}`);
    this.code = code;
  }
}

/** Wrong usage found by a command itself (commander reports its own). */
class UsageError extends Error {}

const duration = (value: string): number => {
  try {
    return parseDuration(value);
  } catch {
    throw new UsageError(`${value}: not a duration such as 30s, 10m or 1h`);
  }
};

const program = new Command()
  .name('kubectl-flotilla')
  .usage('<command> [options]   (as a kubectl plugin: kubectl flotilla <command>)')
  .description('See Flotilla releases as a tree, act on them in one word, wait for them in CI, lint manifests.')
  .option('--kubeconfig <path>', 'kubeconfig file (default: $KUBECONFIG, its files merged, else ~/.kube/config)')
  .option('--context <name>', 'kubeconfig context (default: its current-context)')
  .option('-n, --namespace <name>', "namespace (default: the context's, else default)")
  .showHelpAfterError()
  .exitOverride();

function flags(command: Command): KubectlFlags {
  return command.optsWithGlobals() as KubectlFlags;
}

async function withClient<T>(
  command: Command,
  body: (client: KubeClient, namespace: string) => Promise<T>,
): Promise<T> {
  const access = resolveAccess(flags(command));
  const client = await createKubeClient(access.kubeConfig, { fieldManager: 'kubectl-flotilla' });
  try {
    return await body(client, access.namespace);
  } finally {
    // Not awaited: closing waits for requests in flight, and the process exits right after anyway.
    client.close().catch(() => undefined);
  }
}

/** A Rollout by name, else the Rollout that releases the MicroService of that name. */
async function lookupRollout(client: KubeClient, namespace: string, name: string): Promise<Rollout | undefined> {
  const own = await client.getIfExists<Rollout & { metadata: object }>(rolloutType, name, namespace);
  if (own) return own;
  return rolloutFor((await client.list<Rollout & { metadata: object }>(rolloutType, { namespace })).items, name);
}

async function findRollout(client: KubeClient, namespace: string, name: string): Promise<Rollout> {
  const rollout = await lookupRollout(client, namespace, name);
  if (rollout) return rollout;
  err(`error: no Rollout ${name} in namespace ${namespace}, and none releases a MicroService ${name}\n`);
  throw new Exit(EXIT.failed);
}

/**
 * Runs `check` now and after every change of the service's objects until it returns a value or
 * `timeoutMs` passes (then undefined). Checks never overlap; changes during one cause one more.
 */
async function waitForChange<T>(
  client: KubeClient,
  namespace: string,
  service: string,
  check: () => Promise<T | undefined>,
  timeoutMs: number,
): Promise<T | undefined> {
  const stop = new AbortController();
  let result: T | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let failure: unknown;
  const run = () => {
    if (running) {
      again = true;
      return;
    }
    running = (async () => {
      do {
        again = false;
        const value = await check();
        if (value !== undefined && !stop.signal.aborted) {
          result = value;
          stop.abort();
        }
      } while (again && !stop.signal.aborted);
    })()
      .catch((error: unknown) => {
        failure = error;
        stop.abort();
      })
      .finally(() => {
        running = undefined;
      });
  };
  const timer = Number.isFinite(timeoutMs) ? setTimeout(() => stop.abort(), timeoutMs) : undefined;
  const watching = watchChanges(client, serviceWatchTargets(namespace, service), run, stop.signal);
  run();
  await new Promise<void>((resolve) => stop.signal.addEventListener('abort', () => resolve(), { once: true }));
  clearTimeout(timer);
  // A check still waiting on the API server may finish, but never holds the answer past a second.
  const grace = new Promise((resolve) => setTimeout(resolve, 1000).unref());
  await Promise.race([running, grace]);
  await Promise.race([watching.catch(() => undefined), grace]);
  if (failure) throw failure;
  return result;
}

// ---- lint ----------------------------------------------------------------------------------------

function readSources(paths: readonly string[]): LintSource[] {
  const sources: LintSource[] = [];
  const visit = (path: string) => {
    if (path === '-') {
      sources.push({ file: '<stdin>', text: readFileSync(0, 'utf8') });
      return;
    }
    if (statSync(path).isDirectory()) {
      for (const entry of readdirSync(path).sort()) {
        const child = join(path, entry);
        if (statSync(child).isDirectory() || /\.(ya?ml|json)$/.test(entry)) visit(child);
      }
      return;
    }
    sources.push({ file: path, text: readFileSync(path, 'utf8') });
  };
  for (const path of paths) visit(path);
  return sources;
}

program
  .command('lint')
  .description(
    'Validate Flotilla manifests offline: the CRDs’ schemas and CEL rules, and the references between objects.',
  )
  .argument('<paths...>', 'files, folders (their .yaml, .yml and .json files) or - for standard input')
  .option('-o, --output <format>', 'text or json', 'text')
  .option('--no-references', 'skip the checks between objects (when only some of the files are given)')
  .action((paths: string[], options: { output: string; references: boolean }) => {
    const report = lintSources(readSources(paths), { references: options.references });
    if (options.output === 'json') out(`${JSON.stringify(report, null, 2)}\n`);
    else {
      for (const finding of report.findings) out(`${formatFinding(finding)}\n`);
      const errors = report.findings.length;
      err(
        `${errors === 0 ? 'ok' : `${errors} error${errors === 1 ? '' : 's'}`}: ${report.checked} Flotilla object${report.checked === 1 ? '' : 's'} checked, ${report.skipped} other${report.skipped === 1 ? '' : 's'} skipped\n`,
      );
    }
    if (report.findings.length > 0) throw new Exit(1);
  });

// ---- get / list ----------------------------------------------------------------------------------

function targetOf(first: string, second: string | undefined): { kind: TargetKind; name: string } {
  if (second === undefined) return { kind: 'microservice', name: first };
  const kind = parseTargetKind(first);
  if (!kind) throw new UsageError(`${first}: expected ms or rollout`);
  return { kind, name: second };
}

program
  .command('get')
  .description(
    'Show a service as a tree: MicroService, Rollout, revisions and pods, routes, database, cache and messaging.',
  )
  .argument('<kind-or-name>', 'ms | rollout (or just the service name)')
  .argument('[name]', 'the MicroService or Rollout')
  .option('-w, --watch', 'redraw on every change (a watch on the objects, not polling); Ctrl-C ends')
  .addOption(
    new Option('-o, --output <format>', 'tree, json or yaml').choices(['tree', 'json', 'yaml']).default('tree'),
  )
  .action(
    async (
      first: string,
      second: string | undefined,
      options: { watch?: boolean; output: string },
      command: Command,
    ) => {
      const { kind, name } = targetOf(first, second);
      await withClient(command, async (client, namespace) => {
        const style = styleFor(process.stdout);
        let service = name;
        let found = true;
        const draw = async () => {
          const objects = await gatherService(client, kind, namespace, name);
          service = objects.name;
          found = objects.microService !== undefined || objects.rollout !== undefined;
          const view = buildServiceView(objects, new Date());
          if (options.output === 'json') return `${JSON.stringify(view, null, 2)}\n`;
          if (options.output === 'yaml') return `${dump(view, { noRefs: true })}---\n`;
          return renderTree(view, style);
        };
        let shown = await draw().catch(notFound(kind, name, namespace));
        if (!found) notFound(kind, name, namespace)(new KubeApiError('GET', name, 404, {}));
        out(shown);
        if (!options.watch) return;
        const redraw = async () => {
          const next = await draw();
          if (next === shown) return undefined;
          if (process.stdout.isTTY && options.output === 'tree') out(`\u001b[${lineCount(shown)}A\u001b[J`);
          else if (options.output === 'tree') out('\n');
          out(next);
          shown = next;
          return undefined;
        };
        await waitForChange(client, namespace, service, redraw, Number.POSITIVE_INFINITY);
      });
    },
  );

const lineCount = (text: string) => text.split('\n').length - 1;

function notFound(kind: TargetKind, name: string, namespace: string) {
  return (error: unknown): never => {
    if (error instanceof KubeApiError && error.statusCode === 404) {
      err(`error: ${kind === 'rollout' ? 'Rollout' : 'MicroService'} ${name} not found in namespace ${namespace}\n`);
      throw new Exit(1);
    }
    throw error;
  };
}

program
  .command('list')
  .description('The fleet: one line per service (phase, revision, weight, replicas, database, age), unhealthy first.')
  .option('-A, --all-namespaces', 'every namespace')
  .addOption(
    new Option('-o, --output <format>', 'table, json or yaml').choices(['table', 'json', 'yaml']).default('table'),
  )
  .action(async (options: { allNamespaces?: boolean; output: string }, command: Command) => {
    await withClient(command, async (client, namespace) => {
      const scope = options.allNamespaces ? {} : { namespace };
      const [services, rollouts] = await Promise.all([
        client.list<MicroService & { metadata: object }>(microServiceType, scope),
        client.list<Rollout & { metadata: object }>(rolloutType, scope),
      ]);
      const rows = buildFleet(services.items, rollouts.items, new Date());
      if (options.output === 'json') out(`${JSON.stringify(rows, null, 2)}\n`);
      else if (options.output === 'yaml') out(dump(rows));
      else out(renderFleet(rows, styleFor(process.stdout), options.allNamespaces === true));
    });
  });

// ---- actions -------------------------------------------------------------------------------------

interface ActionOptions {
  wait: string | false;
}

async function act(command: Command, name: string, action: RolloutAction, options: ActionOptions): Promise<void> {
  const timeoutMs = options.wait === false ? 0 : duration(options.wait);
  await withClient(command, async (client, namespace) => {
    const before = await findRollout(client, namespace, name);
    const rolloutName = before.metadata.name ?? name;
    const patch = rolloutPatch(action);
    const sent = await client.mergePatch<Rollout & { metadata: object }>(rolloutType, rolloutName, namespace, patch);
    out(
      `rollout ${rolloutName}: ${action.replace('-', ' ')} requested (${kubectlEquivalent('rollout', rolloutName, namespace, patch)})\n`,
    );
    if (options.wait === false) return;
    const done = await waitForChange(
      client,
      namespace,
      before.spec.serviceRef.name,
      async () => {
        const now = await client.get<Rollout & { metadata: object }>(rolloutType, rolloutName, namespace);
        return actedOn(action, sent, now) ? now : undefined;
      },
      timeoutMs,
    );
    if (done) out(`rollout ${rolloutName}: ${describeOutcome(action, before, done)}\n`);
    else {
      err(
        `rollout ${rolloutName}: the controller has not acted within ${options.wait} (is the operator running?); the request stays in the spec\n`,
      );
      throw new Exit(1);
    }
  });
}

const waitOption = () =>
  new Option('--wait <duration>', 'how long to wait for the controller to act (--no-wait: do not)').default('30s');

program
  .command('promote')
  .description('Go past the current pause (spec.promote: step), or with --full skip every remaining step.')
  .argument('<name>', 'the Rollout, or the MicroService it releases')
  .option('--full', 'skip the remaining steps (spec.promote: full)')
  .addOption(waitOption())
  .option('--no-wait', 'return once the request is written')
  .action((name: string, options: ActionOptions & { full?: boolean }, command: Command) =>
    act(command, name, options.full ? 'promote-full' : 'promote', options),
  );

for (const [action, description] of [
  ['abort', 'Send all traffic back to the stable revision (spec.abort: true).'],
  ['retry', 'Restart an aborted release from its first step (spec.retry: true).'],
  ['pause', "Freeze the release where it is (spec.paused: true, the user's hold)."],
  ['resume', 'Lift the hold (spec.paused: false).'],
] as const) {
  program
    .command(action)
    .description(description)
    .argument('<name>', 'the Rollout, or the MicroService it releases')
    .addOption(waitOption())
    .option('--no-wait', 'return once the request is written')
    .action((name: string, options: ActionOptions, command: Command) => act(command, name, action, options));
}

program
  .command('set')
  .description('Set a field of a MicroService: `set image NAME IMAGE` starts a release.')
  .argument('<what>', 'image')
  .argument('<name>', 'the MicroService')
  .argument('<value>', 'the new image')
  .action(async (what: string, name: string, value: string, _options: object, command: Command) => {
    if (what !== 'image') throw new UsageError(`${what}: only "image" can be set`);
    await withClient(command, async (client, namespace) => {
      const patch = imagePatch(value);
      await client
        .mergePatch(microServiceType, name, namespace, patch)
        .catch(notFound('microservice', name, namespace));
      out(
        `microservice ${name}: image set to ${value} (${kubectlEquivalent('microservice', name, namespace, patch)})\n`,
      );
    });
  });

program
  .command('restart')
  .description(
    'Restart every pod of a MicroService (spec.restartedAt): a new revision of the same image, released ' +
      'like any other — through its Rollout when it has one.',
  )
  .argument('<name>', 'the MicroService')
  .action(async (name: string, _options: object, command: Command) => {
    await withClient(command, async (client, namespace) => {
      const patch = restartPatch(new Date());
      await client
        .mergePatch(microServiceType, name, namespace, patch)
        .catch(notFound('microservice', name, namespace));
      out(
        `microservice ${name}: restart requested at ${patch.spec.restartedAt} (${kubectlEquivalent('microservice', name, namespace, patch)})\n`,
      );
    });
  });

// ---- status --------------------------------------------------------------------------------------

program
  .command('status')
  .description(
    'Wait for a release, for CI: prints each change of phase and message; exits 0 on the awaited state, ' +
      '1 on Degraded or Aborted, 2 on timeout, 3 when held at a pause only a person ends ' +
      '(or, with --until Paused, released with no pause left).',
  )
  .argument('<name>', 'the Rollout, or the MicroService it releases')
  .option('--timeout <duration>', 'give up after this long (exit 2)', '10m')
  .addOption(new Option('--until <state>', 'the state to wait for').choices(['Healthy', 'Paused']).default('Healthy'))
  .action(async (name: string, options: { timeout: string; until: Awaited }, command: Command) => {
    const timeoutMs = duration(options.timeout);
    const code = await withClient(command, async (client, namespace) => {
      const rollout = await lookupRollout(client, namespace, name);
      if (!rollout) return waitForService(client, namespace, name, options, timeoutMs);
      const rolloutName = rollout.metadata.name ?? name;
      const service = rollout.spec.serviceRef.name;
      const verdict = await waitForChange(
        client,
        namespace,
        service,
        printingChanges(async () => {
          const [now, ms] = await Promise.all([
            client.get<Rollout & { metadata: object }>(rolloutType, rolloutName, namespace),
            client.getIfExists<MicroService & { metadata: object }>(microServiceType, service, namespace),
          ]);
          return decideStatus(now, ms, options.until);
        }),
        timeoutMs,
      );
      if (!verdict) {
        err(`rollout ${rolloutName}: not ${options.until} within ${options.timeout}\n`);
        return EXIT.timeout;
      }
      return verdict.exitCode ?? EXIT.failed;
    });
    throw new Exit(code);
  });

/** A check for waitForChange that prints each new verdict line, time first, and ends on an exit code. */
function printingChanges(decide: () => Promise<Verdict>): () => Promise<Verdict | undefined> {
  let lastLine = '';
  return async () => {
    const verdict = await decide();
    if (verdict.line !== lastLine) out(`${new Date().toISOString().slice(11, 19)}  ${verdict.line}\n`);
    lastLine = verdict.line;
    return verdict.exitCode === undefined ? undefined : verdict;
  };
}

/** `status` of a MicroService released without a Rollout: until it is Ready at its latest spec. */
async function waitForService(
  client: KubeClient,
  namespace: string,
  name: string,
  options: { timeout: string; until: Awaited },
  timeoutMs: number,
): Promise<number> {
  const exists = await client.getIfExists(microServiceType, name, namespace);
  if (!exists) {
    err(`error: no Rollout ${name} in namespace ${namespace}, and no MicroService ${name}\n`);
    return EXIT.failed;
  }
  if (options.until === 'Paused') throw new UsageError(`${name} has no Rollout: it never pauses`);
  const verdict = await waitForChange(
    client,
    namespace,
    name,
    printingChanges(async () =>
      decideServiceStatus(await client.get<MicroService & { metadata: object }>(microServiceType, name, namespace)),
    ),
    timeoutMs,
  );
  if (verdict) return verdict.exitCode ?? EXIT.failed;
  err(`microservice ${name}: not Ready within ${options.timeout}\n`);
  return EXIT.timeout;
}

// ---- version, completion -------------------------------------------------------------------------

program
  .command('version')
  .description("The plugin's version, and the Node.js that runs it.")
  .action(() => {
    const sea = process.execPath.endsWith('kubectl-flotilla') ? ' (single executable)' : '';
    out(`kubectl-flotilla ${packageJson.version} (node ${process.versions.node})${sea}\n`);
  });

program
  .command('completion')
  .description('Print a shell completion script: source <(kubectl-flotilla completion bash).')
  .addArgument(new Argument('<shell>', SHELLS.join(' | ')).choices(SHELLS))
  .action((shell: Shell) => {
    out(completionScript(program, shell));
  });

/** The exit code of a failed command; what commander has not printed is printed here. */
function exitCodeOf(error: unknown): number {
  if (error instanceof Exit) return error.code;
  // --help and --version (0), or a usage error commander has already printed
  if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : EXIT.usage;
  err(`error: ${error instanceof Error ? error.message : String(error)}\n`);
  return error instanceof UsageError ? EXIT.usage : 1;
}

/** Exits once the output is written: a connection still closing never keeps a finished command alive. */
function exit(code: number): void {
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}

/**
 * `kubectl-flotilla __complete WORDS...`: what kubectl's completion of `kubectl flotilla ...` calls
 * through the `kubectl_complete-flotilla` script that `npm run plugin -- install` puts beside the
 * plugin. Prints Cobra's format: one candidate a line, then `:directive`. Names come from the cluster
 * (at most 3 s); without one, only commands and options are offered.
 */
async function complete(words: string[]): Promise<void> {
  const completion = completeWords(program, words);
  const typed = words.at(-1) ?? '';
  let names: string[] = [];
  if (completion.names) {
    try {
      const access = resolveAccess(flagsIn(words));
      const client = await createKubeClient(access.kubeConfig, { fieldManager: 'kubectl-flotilla' });
      const type = completion.names === 'rollouts' ? rolloutType : microServiceType;
      const list = await client.list(type, { namespace: access.namespace, signal: AbortSignal.timeout(3000) });
      names = list.items.map((item) => item.metadata.name ?? '').filter((name) => name.startsWith(typed));
      client.close().catch(() => undefined);
    } catch {
      // no cluster, no names
    }
  }
  for (const candidate of [...completion.candidates, ...names]) out(`${candidate}\n`);
  out(`:${completion.directive}\n`);
}

if (process.argv[2] === '__complete') {
  complete(process.argv.slice(3)).then(
    () => exit(0),
    () => exit(0),
  );
} else {
  program.parseAsync(process.argv).then(
    () => exit(0),
    (error: unknown) => exit(exitCodeOf(error)),
  );
}
