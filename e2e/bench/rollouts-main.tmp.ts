import { createKubeClient } from '../../operator/src/kube/client.ts';
import { connectToCluster } from '../support/cluster.ts';
import { rolloutBench } from './rollouts.ts';
const cluster = await connectToCluster();
const client = await createKubeClient(cluster.kubeConfig);
await rolloutBench({ cluster, client, scale: Number(process.env.FLOTILLA_BENCH_SCALE ?? 1), print: (l = '') => console.log(l) });
await client.close();
process.exit(0);
