// A stand-in operator process for runtime-leader-election.test.ts: campaigns for a Lease and, while
// it may write, writes a ConfigMap every 100 ms through a client fenced by the elector. Prints one
// JSON line per happening ({event: 'leading' | 'stopped' | 'write' | 'fenced', at}). SIGTERM
// releases the Lease and exits.
// Usage: node runtime-leader-process.ts KUBECONFIG NAMESPACE LEASE IDENTITY
import { KubeConfig } from '@kubernetes/client-node';
import { createKubeClient, WritesFencedError } from '../../operator/src/kube/client.ts';
import { configMapType } from '../../operator/src/kube/objects.ts';
import { LeaderElector } from '../../operator/src/runtime/leader-election.ts';

const [kubeconfigPath = '', namespace = '', leaseName = '', identity = ''] = process.argv.slice(2);
const say = (event: string, extra: object = {}) =>
  process.stdout.write(`${JSON.stringify({ event, identity, at: Date.now(), ...extra })}\n`);

const kubeConfig = new KubeConfig();
kubeConfig.loadFromFile(kubeconfigPath);
const client = await createKubeClient(kubeConfig);
const elector = new LeaderElector({
  client,
  namespace,
  name: leaseName,
  identity,
  onStartedLeading: () => say('leading'),
  onStoppedLeading: () => say('stopped'),
});
const fenced = client.withWriteGuard(elector.canWrite);

let writes = 0;
const writer = setInterval(() => {
  if (!elector.isLeader) return;
  const at = Date.now();
  fenced
    .apply(configMapType, {
      metadata: { name: `${leaseName}-writes`, namespace },
      data: { writer: identity, n: String(++writes) },
    })
    .then(() => say('write', { started: at }))
    .catch((error: unknown) => {
      if (error instanceof WritesFencedError) say('fenced', { started: at });
      else say('write-error', { message: String(error) });
    });
}, 100);

process.on('SIGTERM', () => {
  clearInterval(writer);
  void elector
    .stop()
    .then(() => say('released'))
    .finally(() => client.close().finally(() => process.exit(0)));
});

say('started');
await elector.run();
