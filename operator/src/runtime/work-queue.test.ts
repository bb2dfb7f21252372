import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock, settle } from '../common/fake-clock.ts';
import { RetryLater, WorkQueue } from './work-queue.ts';

/** A reconcile whose calls stay open until the test releases them. */
function gatedReconcile() {
  const calls: string[] = [];
  const gates: Array<{ key: string; release: (error?: Error) => void }> = [];
  let active = 0;
  let maxActive = 0;
  const activeKeys = new Set<string>();
  let overlap = false;
  const reconcile = (key: string) => {
    calls.push(key);
    if (activeKeys.has(key)) overlap = true;
    activeKeys.add(key);
    active++;
    maxActive = Math.max(maxActive, active);
    return new Promise<undefined>((resolve, reject) => {
      gates.push({
        key,
        release: (error) => {
          active--;
          activeKeys.delete(key);
          if (error) reject(error);
          else resolve(undefined);
        },
      });
    });
  };
  const releaseAll = async () => {
    while (gates.length > 0) {
      for (const gate of gates.splice(0)) gate.release();
      await settle();
    }
  };
  return {
    reconcile,
    calls,
    gates,
    releaseAll,
    get maxActive() {
      return maxActive;
    },
    get overlap() {
      return overlap;
    },
  };
}

describe('WorkQueue', () => {
  it('runs a key added many times while it waits once', async () => {
    const blocker = gatedReconcile();
    const busy = new WorkQueue({ reconcile: blocker.reconcile, clock: new FakeClock() });
    busy.add('other');
    for (let i = 0; i < 1000; i++) busy.add('a');
    await settle();
    await blocker.releaseAll();
    assert.deepEqual(blocker.calls, ['other', 'a']);
  });

  it('starts a reconcile after the code that added its key has finished, never inside it', async () => {
    // A cache emits to its listeners in turn: the first enqueues, a later one updates what the
    // reconcile reads. The reconcile must see the later listener's update.
    let seen: string | undefined;
    let state = 'before';
    const queue = new WorkQueue({
      reconcile: async () => {
        seen = state;
      },
      clock: new FakeClock(),
    });
    queue.add('a');
    state = 'after';
    await settle();
    assert.equal(seen, 'after');
  });

  it('runs a key added 1,000 times while it runs exactly once more, never in two workers', async () => {
    const work = gatedReconcile();
    const queue = new WorkQueue({ reconcile: work.reconcile, concurrency: 4, clock: new FakeClock() });
    queue.add('a');
    await settle();
    for (let i = 0; i < 1000; i++) queue.add('a');
    await settle();
    assert.equal(work.calls.length, 1, 'the second run waits for the first');
    await work.releaseAll();
    assert.deepEqual(work.calls, ['a', 'a']);
    assert.equal(work.overlap, false);
  });

  it('bounds concurrency', async () => {
    const work = gatedReconcile();
    const queue = new WorkQueue({ reconcile: work.reconcile, concurrency: 3, clock: new FakeClock() });
    for (let i = 0; i < 10; i++) queue.add(`k${i}`);
    await settle();
    assert.equal(work.calls.length, 3);
    assert.equal(queue.depth, 7);
    await work.releaseAll();
    assert.equal(work.calls.length, 10);
    assert.equal(work.maxActive, 3);
  });

  it('runs urgent keys before the others, a waiting key added again as urgent too, each once', async () => {
    const work = gatedReconcile();
    const queue = new WorkQueue({ reconcile: work.reconcile, concurrency: 1, clock: new FakeClock() });
    queue.add('busy');
    await settle();
    for (const key of ['r1', 'r2', 'r3', 'r4']) queue.add(key);
    queue.add('abort', true);
    queue.add('r3', true);
    queue.add('r3', true);
    queue.add('abort');
    assert.equal(queue.depth, 5);
    await work.releaseAll();
    assert.deepEqual(work.calls, ['busy', 'abort', 'r3', 'r1', 'r2', 'r4']);
  });

  it('runs a running key added again as urgent next, once it has finished', async () => {
    const work = gatedReconcile();
    const queue = new WorkQueue({ reconcile: work.reconcile, concurrency: 1, clock: new FakeClock() });
    queue.add('a');
    await settle();
    queue.add('b');
    queue.add('a', true);
    await work.releaseAll();
    assert.deepEqual(work.calls, ['a', 'a', 'b']);
    assert.equal(work.overlap, false);
  });

  it('retries a failing key with doubling delays from 5 ms, and resets them on success', async () => {
    const clock = new FakeClock();
    const startedAt: number[] = [];
    let failuresLeft = 4;
    const queue = new WorkQueue({
      clock,
      reconcile: async () => {
        startedAt.push(clock.now());
        if (failuresLeft-- > 0) throw new Error('not yet');
      },
    });
    const t0 = clock.now();
    queue.add('a');
    await clock.advance(1000);
    assert.deepEqual(
      startedAt.map((t) => t - t0),
      [0, 5, 15, 35, 75],
    );
    assert.equal(queue.failuresOf('a'), 0);
    failuresLeft = 1;
    queue.add('a');
    await clock.advance(1000);
    const secondStart = startedAt[5] ?? Number.NaN;
    assert.deepEqual(
      startedAt.slice(5).map((t) => t - secondStart),
      [0, 5],
      'the backoff starts again at 5 ms after a success',
    );
  });

  it('caps the per-key backoff at 5 minutes', async () => {
    const clock = new FakeClock();
    const delays: number[] = [];
    const queue = new WorkQueue({
      clock,
      reconcile: async () => {
        throw new Error('always');
      },
      observer: { retrying: (_key, _n, delay) => delays.push(delay) },
    });
    queue.add('a');
    await clock.advance(60 * 60_000);
    assert.equal(Math.max(...delays), 300_000);
    assert.equal(delays.at(-1), 300_000);
  });

  it('never waits past the deadline a RetryLater carries, and backs off as usual before it', async () => {
    const clock = new FakeClock();
    const delays: number[] = [];
    const queue = new WorkQueue({
      clock,
      reconcile: async () => {
        throw new RetryLater('waiting for the database', 2_000);
      },
      observer: { retrying: (_key, _n, delay) => delays.push(delay) },
    });
    queue.add('a');
    await clock.advance(30_000);
    assert.deepEqual(delays.slice(0, 3), [5, 10, 20], 'the usual backoff while it is shorter');
    assert.equal(Math.max(...delays), 2_000, 'never longer than the deadline');
  });

  it('forgets a key when the error policy says so', async () => {
    const clock = new FakeClock();
    let runs = 0;
    const queue = new WorkQueue({
      clock,
      reconcile: async () => {
        runs++;
        throw new Error('gone');
      },
      onError: () => 'forget',
    });
    queue.add('a');
    await clock.advance(10_000);
    assert.equal(runs, 1);
    assert.equal(clock.pendingDelays().length, 0);
  });

  it('honours requeueAfter', async () => {
    const clock = new FakeClock();
    const startedAt: number[] = [];
    const queue = new WorkQueue({
      clock,
      reconcile: async () => {
        startedAt.push(clock.now());
        return startedAt.length < 3 ? { requeueAfterMs: 30_000 } : {};
      },
    });
    const t0 = clock.now();
    queue.add('a');
    await clock.advance(120_000);
    assert.deepEqual(
      startedAt.map((t) => t - t0),
      [0, 30_000, 60_000],
    );
  });

  it('keeps the earliest of several delayed adds', async () => {
    const clock = new FakeClock();
    const startedAt: number[] = [];
    const queue = new WorkQueue({ clock, reconcile: async () => void startedAt.push(clock.now()) });
    const t0 = clock.now();
    queue.addAfter('a', 10_000);
    queue.addAfter('a', 2_000);
    queue.addAfter('a', 5_000);
    await clock.advance(20_000);
    assert.deepEqual(
      startedAt.map((t) => t - t0),
      [2_000],
    );
  });

  it('reports how long a key waited', async () => {
    const clock = new FakeClock();
    const waits: number[] = [];
    const work = gatedReconcile();
    const queue = new WorkQueue({
      clock,
      reconcile: work.reconcile,
      observer: { started: (_k, wait) => waits.push(wait) },
    });
    queue.add('a');
    queue.add('b');
    await clock.advance(250);
    await work.releaseAll();
    assert.deepEqual(waits, [0, 250]);
  });

  it('shutdown finishes in-flight reconciles and takes no new work', async () => {
    const work = gatedReconcile();
    const queue = new WorkQueue({ reconcile: work.reconcile, clock: new FakeClock() });
    queue.add('a');
    queue.add('b');
    await settle();
    let done = false;
    const stopped = queue.shutdown().then(() => {
      done = true;
    });
    await settle();
    assert.equal(done, false, 'waits for the running reconcile');
    queue.add('c');
    await work.releaseAll();
    await stopped;
    assert.deepEqual(work.calls, ['a']);
  });

  it('queues but runs nothing while paused', async () => {
    const calls: string[] = [];
    const queue = new WorkQueue({
      reconcile: async (key) => void calls.push(key),
      clock: new FakeClock(),
      paused: true,
    });
    queue.add('a');
    queue.add('b');
    await settle();
    assert.deepEqual(calls, []);
    queue.resume();
    await settle();
    assert.deepEqual(calls, ['a', 'b']);
  });
});
