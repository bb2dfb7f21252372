#!/usr/bin/env node
// The flotilla command line. `flotilla run` runs the operator; see `flotilla run --help`.
// `flotilla version` prints the operator's version (package.json) and Node's.
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { RunOptions } from './cli/run.ts';

const positiveInt = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
};
const seconds = (value: string): number => {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a positive number of seconds');
  return n;
};

/** The operator's version: the `version` of the package.json next to operator/ (in the image too). */
const packageJson = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

const program = new Command()
  .name('flotilla')
  .description('A Kubernetes operator for fleets of microservices.')
  .showHelpAfterError();

program
  .command('run')
  .description('Run the operator against the cluster of the kubeconfig in use.')
  .option(
    '--kubeconfig <path>',
    'kubeconfig file (default: in-cluster, else $KUBECONFIG, else ~/.kube/config, else the local cluster of `npm run cluster -- up`)',
  )
  .option('-n, --namespace <name>', 'watch only this namespace (default: all namespaces)')
  .option('--concurrency <n>', 'MicroServices reconciled at the same time', positiveInt, 4)
  .option('--no-leader-elect', 'run without leader election (only one replica may then run)')
  .option(
    '--leader-election-namespace <name>',
    "namespace of the Lease (default: the Pod's namespace in a cluster, else default)",
  )
  .option('--leader-election-name <name>', 'name of the Lease', 'flotilla-leader')
  .option('--leader-election-identity <id>', 'this candidate in the Lease (default: hostname_random)')
  .option('--lease-duration <seconds>', 'how long a Lease is valid without renewal', seconds, 15)
  .option('--renew-deadline <seconds>', 'the leader stops writing when it could not renew for this long', seconds, 10)
  .option('--retry-period <seconds>', 'how often to renew or try to take the Lease', seconds, 2)
  .option('--health-probe-bind-address <host:port>', '/healthz and /readyz ("0" turns it off)', '127.0.0.1:8081')
  .option('--metrics-bind-address <host:port>', '/metrics in Prometheus format ("0" turns it off)', '127.0.0.1:8080')
  .option(
    '--otlp-endpoint <url>',
    'OTLP collector that services with spec.observability.tracing send traces to (their OTEL_EXPORTER_OTLP_ENDPOINT)',
  )
  .option(
    '--database-server-status',
    'check DatabaseServers and write their status even with --namespace (default: only when watching all namespaces)',
  )
  .addOption(
    new Option('--log-level <level>', 'log level')
      .choices(['trace', 'debug', 'info', 'warn', 'error', 'fatal'])
      .default('info'),
  )
  .action(async (flags: Record<string, unknown>) => {
    // Loaded here, so that `flotilla version` and `--help` do not load the whole operator.
    const { createLogger } = await import('./cli/logger.ts');
    const { run } = await import('./cli/run.ts');
    const logger = createLogger(String(flags.logLevel));
    const options: RunOptions = {
      kubeconfig: flags.kubeconfig as string | undefined,
      namespace: flags.namespace as string | undefined,
      concurrency: flags.concurrency as number,
      leaderElect: flags.leaderElect as boolean,
      leaderElectionNamespace: flags.leaderElectionNamespace as string | undefined,
      leaderElectionName: flags.leaderElectionName as string,
      leaderElectionIdentity: flags.leaderElectionIdentity as string | undefined,
      leaseDurationSeconds: flags.leaseDuration as number,
      renewDeadlineSeconds: flags.renewDeadline as number,
      retryPeriodSeconds: flags.retryPeriod as number,
      healthProbeBindAddress: flags.healthProbeBindAddress as string,
      metricsBindAddress: flags.metricsBindAddress as string,
      ...(flags.databaseServerStatus ? { databaseServerStatus: true } : {}),
      ...(flags.otlpEndpoint ? { otlpEndpoint: flags.otlpEndpoint as string } : {}),
    };
    try {
      const reason = await run(options, logger);
      process.exit(reason === 'lost-leadership' ? 1 : 0);
    } catch (error) {
      logger.fatal({ err: error }, 'flotilla stopped on an error');
      process.exit(1);
    }
  });

program
  .command('version')
  .description('Print the operator version and the Node.js version.')
  .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
  .action((flags: { output: string }) => {
    if (flags.output === 'json') {
      console.log(JSON.stringify({ flotilla: packageJson.version, node: process.versions.node }));
    } else {
      console.log(`flotilla ${packageJson.version}\nnode ${process.versions.node}`);
    }
  });

await program.parseAsync(process.argv);
