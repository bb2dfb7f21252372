// `npm run cluster -- up | down | stop | start | status | kubeconfig`: the real Kubernetes cluster for tests.
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { Command } from 'commander';
import { currentClusterFile } from '../support/cluster.ts';
import { type ClusterBackend, chooseBackend } from './backend.ts';
import { kindCluster } from './kind.ts';
import { localControlPlane } from './local.ts';

function selectBackend(): ClusterBackend {
  const dockerAnswers = spawnSync('docker', ['info'], { stdio: 'ignore', timeout: 10_000 }).status === 0;
  const kindOnPath = spawnSync('kind', ['version'], { stdio: 'ignore' }).status === 0;
  const name = chooseBackend(process.env.FLOTILLA_CLUSTER_BACKEND, dockerAnswers, kindOnPath);
  return name === 'kind' ? kindCluster : localControlPlane;
}

async function main(): Promise<void> {
  const program = new Command('cluster')
    .description('The real Kubernetes cluster Flotilla is tested on')
    .showHelpAfterError();

  program
    .command('up')
    .description('bring the cluster up (built on first use), or reuse it when it is already up')
    .option('--real-node', 'also run a real kubelet node (containerd, runc; root), tainted flotilla.dev/real-node')
    .action(async (options: { realNode?: boolean }) => {
      const backend = selectBackend();
      await backend.up({ realNode: options.realNode === true });
      // A second instance (FLOTILLA_CLUSTER_NAME) does not take over the tests' cluster.
      if (!process.env.FLOTILLA_CLUSTER_NAME) {
        const pointer = currentClusterFile();
        mkdirSync(dirname(pointer), { recursive: true });
        writeFileSync(pointer, `${backend.kubeconfigPath()}\n`);
      }
      console.log(backend.kubeconfigPath());
    });

  program
    .command('load-image')
    .argument('<image>', 'an image in Podman’s storage, e.g. localhost/flotilla:0.1.0 (`npm run image`)')
    .description('move an image into the real node’s containerd (`up --real-node`), or into every kind node')
    .action(async (image: string) => {
      const backend = selectBackend();
      if (!backend.loadImage) throw new Error(`the ${backend.name} backend has no node to load images into`);
      await backend.loadImage(image);
    });

  program
    .command('down')
    .description('remove the cluster; no process of it is left behind')
    .action(async () => {
      await selectBackend().down();
      // The tests' pointer names the default cluster: a second instance's down leaves it alone.
      if (!process.env.FLOTILLA_CLUSTER_NAME) rmSync(currentClusterFile(), { force: true });
    });

  program
    .command('stop')
    .description('stop the API server (with the whole control plane), keeping every object; `start` resumes')
    .action(async () => {
      await selectBackend().stop();
    });

  program
    .command('start')
    .description('start a stopped cluster again with its objects; waits for /readyz and Ready nodes')
    .action(async () => {
      await selectBackend().start();
    });

  program
    .command('status')
    .description('what runs, where, and where the kubeconfig is')
    .action(async () => {
      const status = await selectBackend().status();
      console.log(status.lines.join('\n'));
      if (!status.running) process.exitCode = 3;
    });

  program
    .command('kubeconfig')
    .description('print the path of the cluster’s kubeconfig')
    .action(() => {
      console.log(selectBackend().kubeconfigPath());
    });

  await program.parseAsync();
}

main().catch((error: unknown) => {
  console.error(`cluster: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
