// One relist of the bench namespace, in a process of its own so that its peak RSS is its own:
//   node e2e/bench/relist-child.ts raw|reflector <namespace>
// raw: a paginated LIST (500 a page) through the same transport, each page's body JSON.parse'd and
// its items kept; reflector: the runtime's Reflector filling an ObjectCache until it has synced.
// Prints one JSON line: {mode, objects, ms, peakRssMiB, rssMiB, rssBeforeMiB, heapMiB}.
import { createKubeClient } from '../../operator/src/kube/client.ts';
import { collectionPath, configMapType, type KubeObject } from '../../operator/src/kube/objects.ts';
import { ObjectCache } from '../../operator/src/runtime/object-cache.ts';
import { Reflector } from '../../operator/src/runtime/reflector.ts';
import { connectToCluster } from '../support/cluster.ts';

const [mode, namespace] = process.argv.slice(2);
if ((mode !== 'raw' && mode !== 'reflector') || !namespace) {
  throw new Error('usage: relist-child.ts raw|reflector <namespace>');
}
const PAGE = 500;
const MiB = 1024 * 1024;

const cluster = await connectToCluster();
const client = await createKubeClient(cluster.kubeConfig);
// The process before it lists: Node, the TypeScript loader, the client libraries, one connection.
const rssBeforeMiB = process.memoryUsage().rss / MiB;
let objects = 0;
let ms = 0;
// Held until the figures are taken, as a cache would hold them.
let kept: unknown;

if (mode === 'raw') {
  const items: KubeObject[] = [];
  const started = performance.now();
  let next: string | undefined;
  do {
    const response = await client.transport.request({
      verb: 'LIST',
      path: collectionPath(configMapType, namespace),
      query: { limit: PAGE, continue: next },
    });
    const page = JSON.parse(await response.body.text()) as { items: KubeObject[]; metadata: { continue?: string } };
    for (const item of page.items) items.push(item);
    next = page.metadata.continue || undefined;
  } while (next);
  ms = performance.now() - started;
  objects = items.length;
  kept = items;
} else {
  const cache = new ObjectCache();
  const reflector = new Reflector({ client, type: configMapType, cache, namespace, pageSize: PAGE });
  const started = performance.now();
  reflector.start();
  await reflector.waitForSync();
  ms = performance.now() - started;
  objects = cache.size;
  await reflector.stop();
  kept = cache;
}

const rssMiB = process.memoryUsage().rss / MiB;
const peakRssMiB = (process.resourceUsage().maxRSS * 1024) / MiB;
// What stays on the heap once the garbage of listing is collected (run with --expose-gc).
(globalThis as { gc?: () => void }).gc?.();
const heapMiB = process.memoryUsage().heapUsed / MiB;
console.log(JSON.stringify({ mode, objects, ms, peakRssMiB, rssMiB, rssBeforeMiB, heapMiB, kept: kept !== undefined }));
await client.close();
