// `npm run prometheus -- up | down [--purge] | status`: the real Prometheus server the analysis tests
// query, private and on 127.0.0.1.
import { Command } from 'commander';
import { prometheusDown, prometheusStatus, prometheusUp } from './server.ts';

const program = new Command('prometheus')
  .description('The real Prometheus server Flotilla’s analysis is tested on, on 127.0.0.1')
  .showHelpAfterError();
program
  .command('up')
  .description('start it (installed from Debian’s package when missing and root), or reuse it')
  .action(async () => console.log(`prometheus: ${await prometheusUp()}`));
program
  .command('down')
  .description('stop it; no process is left behind')
  .option('--purge', 'also remove its data')
  .action(async (options: { purge?: boolean }) => prometheusDown(options.purge ?? false));
program
  .command('status')
  .description('whether it runs and answers, and the scrape target files')
  .action(async () => {
    const status = await prometheusStatus();
    console.log(status.lines.join('\n'));
    if (!status.running) process.exitCode = 3;
  });
await program.parseAsync(process.argv);
