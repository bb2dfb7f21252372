// Request-level behaviour of the reflector, over a scripted fake of the two calls it makes
// (list and watch). The same behaviours are shown against the real API server in
// e2e/integration/runtime-reflector.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sleep } from '../common/clock.ts';
import { FakeClock, settle } from '../common/fake-clock.ts';
import type { KubeClient, ListPage, WatchOptions } from '../kube/client.ts';
import { KubeApiError } from '../kube/errors.ts';
import { configMapType, type KubeObject } from '../kube/objects.ts';
import type { WatchEvent } from '../kube/watch-stream.ts';
import { ObjectCache } from './object-cache.ts';
import { Reflector } from './reflector.ts';

type Step =
  | { list: KubeObject[]; resourceVersion: string }
  | { listError: Error }
  | { watch: Array<WatchEvent>; end: 'close' | Error }
  | { watchError: Error };

const cm = (name: string, rv: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: 'ns', resourceVersion: rv },
});

/** A client whose list and watch calls follow `steps`, then hang until aborted. */
function scriptedClient(clock: FakeClock, steps: Step[]) {
  const calls: Array<{ at: number; call: string; options?: WatchOptions }> = [];
  const hang = (signal?: AbortSignal) =>
    new Promise<never>((_, reject) => signal?.addEventListener('abort', () => reject(new Error('aborted'))));
  const next = () => steps.shift();
  const client = {
    async list(): Promise<ListPage> {
      calls.push({ at: clock.now(), call: 'list' });
      const step = next();
      if (!step) return hang();
      if ('listError' in step) throw step.listError;
      if ('list' in step) return { items: step.list, resourceVersion: step.resourceVersion };
      throw new Error(`expected a list, the script has ${JSON.stringify(step)}`);
    },
    async watch(_type: unknown, options: WatchOptions) {
      calls.push({ at: clock.now(), call: `watch@${options.resourceVersion}`, options });
      const step = next();
      if (!step) return hang(options.signal);
      if ('watchError' in step) throw step.watchError;
      if (!('watch' in step)) throw new Error(`expected a watch, the script has ${JSON.stringify(step)}`);
      return (async function* () {
        for (const event of step.watch) yield event;
        if (step.end !== 'close') throw step.end;
      })();
    },
  };
  return { client: client as unknown as KubeClient, calls };
}

const gone = () => new KubeApiError('WATCH', '/x', 410, { code: 410, reason: 'Expired' });
const refused = () => Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });

function start(steps: Step[], random = () => 0.5) {
  const clock = new FakeClock();
  const { client, calls } = scriptedClient(clock, steps);
  const cache = new ObjectCache();
  const reflector = new Reflector({ client, type: configMapType, cache, clock, random });
  const t0 = clock.now();
  reflector.start();
  const timeline = () => calls.map((c) => `${c.at - t0}:${c.call}`);
  return { clock, calls, cache, reflector, timeline };
}

describe('Reflector', () => {
  it('watches with a jittered server-side timeout of 300-600 s and bookmarks on (row 1)', async () => {
    const { reflector, calls } = start([{ list: [], resourceVersion: '10' }], () => 0.25);
    await settle();
    const watch = calls.find((c) => c.call.startsWith('watch'));
    assert.equal(watch?.options?.timeoutSeconds, 375);
    assert.equal(watch?.options?.allowWatchBookmarks, true);
    assert.equal(watch?.options?.resourceVersion, '10');
    await reflector.stop();
  });

  it('reconnects at once after a clean close, from the last resourceVersion (bookmarks included)', async () => {
    const { clock, reflector, timeline, cache } = start([
      { list: [cm('a', '1')], resourceVersion: '10' },
      { watch: [{ type: 'ADDED', object: cm('b', '11') }], end: 'close' },
      { watch: [{ type: 'BOOKMARK', object: cm('', '15') }], end: 'close' },
    ]);
    await clock.advance(0);
    assert.deepEqual(timeline(), ['0:list', '0:watch@10', '0:watch@11', '0:watch@15']);
    assert.deepEqual([...cache.keys()].sort(), ['ns/a', 'ns/b']);
    await reflector.stop();
  });

  it('backs off only after errors: 800 ms doubling, jittered, capped at 30 s', async () => {
    const { clock, reflector, timeline } = start(
      [
        { listError: refused() },
        { listError: refused() },
        { listError: refused() },
        { listError: refused() },
        { listError: refused() },
        { listError: refused() },
        { listError: refused() },
        { list: [], resourceVersion: '1' },
      ],
      () => 0.5,
    );
    await clock.advance(200_000);
    // delays: 800·1.5, 1600·1.5, 3200·1.5, 6400·1.5, 12800·1.5, min(30 s, 25600·1.5), 30 s
    assert.deepEqual(timeline(), [
      '0:list',
      '1200:list',
      '3600:list',
      '8400:list',
      '18000:list',
      '37200:list',
      '67200:list',
      '97200:list',
      '97200:watch@1',
    ]);
    assert.equal(reflector.hasSynced, true);
    await reflector.stop();
  });

  it('relists once on 410 Gone, and the cache equals the fresh list', async () => {
    const events: string[] = [];
    const { clock, reflector, timeline, cache } = start([
      { list: [cm('a', '1'), cm('b', '1')], resourceVersion: '10' },
      { watch: [{ type: 'MODIFIED', object: cm('a', '11') }], end: gone() },
      { list: [cm('a', '12'), cm('c', '13')], resourceVersion: '13' },
    ]);
    cache.subscribe((e) => events.push(`${e.type}:${e.object.metadata.name}`));
    await clock.advance(0);
    assert.deepEqual(timeline(), ['0:list', '0:watch@10', '0:list', '0:watch@13']);
    assert.equal(reflector.relists, 1);
    assert.deepEqual([...cache.keys()].sort(), ['ns/a', 'ns/c']);
    assert.deepEqual(events.sort(), ['added:a', 'added:b', 'added:c', 'deleted:b', 'updated:a', 'updated:a']);
    await reflector.stop();
  });

  it('keeps retrying a kind whose CRD is not installed (404), and syncs once it is (row 2)', async () => {
    const notFound = () => new KubeApiError('LIST', '/apis/x', 404, { code: 404, reason: 'NotFound' });
    const { clock, reflector } = start([
      { listError: notFound() },
      { listError: notFound() },
      { list: [cm('a', '1')], resourceVersion: '5' },
    ]);
    await clock.advance(1000);
    assert.equal(reflector.hasSynced, false);
    await clock.advance(10_000);
    assert.equal(reflector.hasSynced, true);
    await reflector.stop();
  });

  it('re-watches from the last resourceVersion after a watch error, with backoff', async () => {
    const { clock, reflector, timeline } = start([
      { list: [], resourceVersion: '10' },
      { watch: [{ type: 'ADDED', object: cm('a', '11') }], end: refused() },
      { watchError: refused() },
    ]);
    await clock.advance(10_000);
    assert.deepEqual(timeline(), ['0:list', '0:watch@10', '1200:watch@11', '3600:watch@11']);
    await reflector.stop();
  });

  it('backs off when the server closes watches at once without events', async () => {
    const { clock, reflector, timeline } = start([
      { list: [], resourceVersion: '10' },
      { watch: [], end: 'close' },
      { watch: [], end: 'close' },
    ]);
    await clock.advance(10_000);
    assert.deepEqual(timeline(), ['0:list', '0:watch@10', '1200:watch@10', '3600:watch@10']);
    await reflector.stop();
  });

  it('backs off when every watch after a fresh list is 410 again', async () => {
    const { clock, reflector, timeline } = start([
      { list: [], resourceVersion: '10' },
      { watch: [], end: gone() },
      { list: [], resourceVersion: '11' },
      { watch: [], end: gone() },
      { list: [], resourceVersion: '12' },
    ]);
    await clock.advance(10_000);
    assert.deepEqual(timeline(), ['0:list', '0:watch@10', '1200:list', '1200:watch@11', '3600:list', '3600:watch@12']);
    await reflector.stop();
  });

  it('rides out an API server down for 20 s: bounded reconnect rate, then resumes from its resourceVersion', async () => {
    const clock = new FakeClock();
    const t0 = clock.now();
    const downFrom = t0 + 5_000;
    const downUntil = downFrom + 20_000;
    const attempts: Array<{ at: number; call: string }> = [];
    const isDown = () => clock.now() >= downFrom && clock.now() < downUntil;
    const client = {
      async list(): Promise<ListPage> {
        attempts.push({ at: clock.now() - t0, call: 'list' });
        if (isDown()) throw refused();
        return { items: [cm('a', '1')], resourceVersion: '10' };
      },
      async watch(_type: unknown, options: WatchOptions) {
        attempts.push({ at: clock.now() - t0, call: `watch@${options.resourceVersion}` });
        if (isDown()) throw refused();
        // The watch stays open, silent, until the server goes down, then breaks.
        // biome-ignore lint/correctness/useYield: a silent watch yields no event
        return (async function* (): AsyncGenerator<WatchEvent> {
          while (!isDown()) {
            if (options.signal?.aborted) return;
            await sleep(clock, 100, options.signal);
          }
          throw refused();
        })();
      },
    };
    const cache = new ObjectCache();
    const reflector = new Reflector({
      client: client as unknown as KubeClient,
      type: configMapType,
      cache,
      clock,
      random: Math.random,
    });
    reflector.start();
    await clock.advance(60_000);
    const duringOutage = attempts.filter((a) => a.at >= 5_000 && a.at < 25_000);
    assert.ok(duringOutage.length <= 7, `${duringOutage.length} attempts in 20 s: ${JSON.stringify(duringOutage)}`);
    const firstAfter = attempts.find((a) => a.at >= 25_000);
    assert.ok(firstAfter && firstAfter.at <= 25_000 + 30_000, 'reconnects within the 30 s backoff cap');
    assert.equal(firstAfter?.call, 'watch@10', 'resumes the watch, no relist needed');
    assert.equal(reflector.relists, 0);
    assert.equal(cache.size, 1);
    await reflector.stop();
  });
});
