// The elector's timing over an in-memory Lease store and a fake clock. The same behaviour between
// real processes on a real Lease is in e2e/integration/runtime-leader-election.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock } from '../common/fake-clock.ts';
import type { KubeClient } from '../kube/client.ts';
import { KubeApiError } from '../kube/errors.ts';
import type { KubeObject } from '../kube/objects.ts';
import { LeaderElector } from './leader-election.ts';

/** One Lease in memory, with optimistic concurrency; `down` makes every request fail. */
function leaseStore() {
  let lease: KubeObject | undefined;
  let version = 0;
  const state = { down: false, writes: 0 };
  const check = () => {
    if (state.down) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
  };
  const client = {
    async get() {
      check();
      if (!lease) throw new KubeApiError('GET', '/lease', 404, { code: 404, reason: 'NotFound' });
      return structuredClone(lease);
    },
    async create(_type: unknown, object: KubeObject) {
      check();
      if (lease) throw new KubeApiError('CREATE', '/lease', 409, { code: 409, reason: 'AlreadyExists' });
      state.writes++;
      lease = { ...structuredClone(object), metadata: { ...object.metadata, resourceVersion: String(++version) } };
      return structuredClone(lease);
    },
    async replace(_type: unknown, object: KubeObject) {
      check();
      if (object.metadata.resourceVersion !== lease?.metadata.resourceVersion) {
        throw new KubeApiError('UPDATE', '/lease', 409, { code: 409, reason: 'Conflict' });
      }
      state.writes++;
      lease = { ...structuredClone(object), metadata: { ...object.metadata, resourceVersion: String(++version) } };
      return structuredClone(lease);
    },
  };
  return {
    client: client as unknown as KubeClient,
    state,
    holder: () => (lease?.spec as { holderIdentity?: string })?.holderIdentity,
  };
}

function elector(client: KubeClient, clock: FakeClock, identity: string, log: string[]) {
  return new LeaderElector({
    client,
    clock,
    namespace: 'ns',
    name: 'flotilla',
    identity,
    random: () => 0,
    onStartedLeading: () => log.push(`${identity} leads at ${clock.now() - START}`),
    onStoppedLeading: () => log.push(`${identity} stops at ${clock.now() - START}`),
  });
}

const START = Date.UTC(2026, 0, 1);

describe('LeaderElector', () => {
  it('acquires a free Lease at once and renews it every retry period', async () => {
    const clock = new FakeClock(START);
    const store = leaseStore();
    const log: string[] = [];
    const a = elector(store.client, clock, 'a', log);
    void a.run();
    await clock.advance(0);
    assert.deepEqual(log, ['a leads at 0']);
    assert.ok(a.canWrite());
    await clock.advance(10_000);
    assert.equal(store.state.writes, 6, 'create + 5 renewals');
    await a.stop();
  });

  it('fences writes at the first failed renewal, and gives up leadership at the renew deadline', async () => {
    const clock = new FakeClock(START);
    const store = leaseStore();
    const log: string[] = [];
    const a = elector(store.client, clock, 'a', log);
    const done = a.run();
    await clock.advance(4_000);
    store.state.down = true;
    await clock.advance(2_000);
    assert.equal(a.isLeader, true);
    assert.equal(a.canWrite(), false, 'writes stop as soon as a renewal fails');
    await clock.advance(10_000);
    await done;
    assert.deepEqual(log, ['a leads at 0', 'a stops at 14000']);
  });

  it('a second candidate waits a whole lease after the holder stops renewing', async () => {
    const clock = new FakeClock(START);
    const store = leaseStore();
    const log: string[] = [];
    const a = elector(store.client, clock, 'a', log);
    const b = elector(store.client, clock, 'b', log);
    void a.run();
    await clock.advance(0);
    void b.run();
    await clock.advance(5_000);
    assert.equal(store.holder(), 'a');
    // a dies without releasing: no more renewals.
    const aAbort = (a as unknown as { abort: AbortController }).abort;
    aAbort.abort();
    await clock.advance(30_000);
    assert.equal(store.holder(), 'b');
    const bLeads = log.find((line) => line.startsWith('b leads')) ?? '';
    const at = Number(bLeads.split(' ').at(-1));
    assert.ok(at >= 4_000 + 15_000 && at <= 4_000 + 15_000 + 2_000, log.join('; '));
    await b.stop();
  });

  it('stop releases the Lease so the other candidate takes it at its next try', async () => {
    const clock = new FakeClock(START);
    const store = leaseStore();
    const log: string[] = [];
    const a = elector(store.client, clock, 'a', log);
    const b = elector(store.client, clock, 'b', log);
    void a.run();
    await clock.advance(0);
    void b.run();
    await clock.advance(3_000);
    await a.stop();
    assert.equal(store.holder(), '');
    await clock.advance(2_000);
    assert.equal(store.holder(), 'b');
    assert.deepEqual(log, ['a leads at 0', 'a stops at 3000', 'b leads at 4000']);
    await b.stop();
  });
});
