// Leader election between real processes on a real Lease.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { connectToCluster } from '../support/cluster.ts';
import { eventually } from '../support/eventually.ts';
import { ensureNamespace, uniqueName } from './runtime-helpers.ts';

const cluster = await connectToCluster();
const namespace = 'runtime-leader-election';
const script = fileURLToPath(new URL('./runtime-leader-process.ts', import.meta.url));

interface Happening {
  event: string;
  identity: string;
  at: number;
  started?: number;
}

class OperatorProcess {
  readonly identity: string;
  readonly child: ChildProcess;
  readonly log: Happening[] = [];

  constructor(lease: string, identity: string) {
    this.identity = identity;
    this.child = spawn(process.execPath, [script, cluster.kubeconfigPath, namespace, lease, identity], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const lines = createInterface({ input: this.child.stdout as NodeJS.ReadableStream });
    lines.on('line', (line) => this.log.push(JSON.parse(line) as Happening));
  }

  get leading(): boolean {
    const last = this.log.filter((h) => h.event === 'leading' || h.event === 'stopped').at(-1);
    return last?.event === 'leading';
  }

  firstAt(event: string): number | undefined {
    return this.log.find((h) => h.event === event)?.at;
  }

  get exited(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => this.child.once('exit', () => resolve()));
  }
}

describe('leader election between two processes', () => {
  const processes: OperatorProcess[] = [];
  before(() => ensureNamespace(cluster, namespace));
  after(async () => {
    for (const p of processes) p.child.kill('SIGKILL');
    await Promise.all(processes.map((p) => p.exited));
  });

  async function startPair(lease: string) {
    const a = new OperatorProcess(lease, 'a');
    const b = new OperatorProcess(lease, 'b');
    processes.push(a, b);
    await eventually('one leader', () => assert.ok(a.leading || b.leading), { timeoutMs: 30_000 });
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    assert.equal(Number(a.leading) + Number(b.leading), 1, 'exactly one leads');
    return a.leading ? { leader: a, follower: b } : { leader: b, follower: a };
  }

  it('exactly one leads; SIGKILL moves leadership within lease + retry', { timeout: 90_000 }, async () => {
    const { leader, follower } = await startPair(uniqueName('kill'));
    const killedAt = Date.now();
    leader.child.kill('SIGKILL');
    await eventually('the follower to lead', () => assert.ok(follower.leading), { timeoutMs: 30_000, intervalMs: 50 });
    const took = (follower.firstAt('leading') ?? Number.POSITIVE_INFINITY) - killedAt;
    // lease 15 s + retry 2 s (jittered up to 20%) + one request
    assert.ok(took <= 15_000 + 2_400 + 1_000, `leadership moved after ${took} ms`);
  });

  it('SIGTERM releases the Lease: leadership moves within a few seconds', { timeout: 90_000 }, async () => {
    const { leader, follower } = await startPair(uniqueName('term'));
    const termAt = Date.now();
    leader.child.kill('SIGTERM');
    await leader.exited;
    assert.ok(leader.log.some((h) => h.event === 'released'));
    await eventually('the follower to lead', () => assert.ok(follower.leading), { timeoutMs: 30_000, intervalMs: 50 });
    const took = (follower.firstAt('leading') ?? Number.POSITIVE_INFINITY) - termAt;
    assert.ok(took <= 4_000, `leadership moved after ${took} ms`);
  });

  it('a leader frozen past its lease makes no write once it wakes up', { timeout: 90_000 }, async () => {
    const { leader, follower } = await startPair(uniqueName('frozen'));
    await eventually('the leader to write', () => assert.ok(leader.log.some((h) => h.event === 'write')));
    leader.child.kill('SIGSTOP');
    await eventually('the follower to lead', () => assert.ok(follower.leading), { timeoutMs: 30_000, intervalMs: 100 });
    const resumedAt = Date.now();
    leader.child.kill('SIGCONT');
    await eventually('the old leader to notice', () => assert.ok(!leader.leading), { timeoutMs: 15_000 });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const lateWrites = leader.log.filter((h) => h.event === 'write' && (h.started ?? 0) >= resumedAt);
    assert.deepEqual(lateWrites, [], 'no write started after the old leader woke up');
    assert.ok(
      leader.log.some((h) => h.event === 'fenced' && (h.started ?? 0) >= resumedAt),
      'it did try, and the fence refused',
    );
    assert.ok(
      follower.log.some((h) => h.event === 'write'),
      'the new leader writes',
    );
  });
});
