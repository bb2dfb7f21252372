// Golden-file tests of `get` and `list` output from recorded objects (testdata/*.json). After a
// deliberate change of the output, FLOTILLA_UPDATE_SNAPSHOTS=1 rewrites the .txt files.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { MicroService } from '../api/microservice.ts';
import type { Rollout } from '../api/rollout.ts';
import { buildFleet, renderFleet } from './fleet.ts';
import { PLAIN, renderTree, styleFor } from './render.ts';
import { buildServiceView, formatAge, type ServiceObjects } from './view.ts';

// Objects read from the local cluster while `npm start -- --namespace shop` ran the samples.
const TESTDATA = new URL('./testdata/', import.meta.url);
const recordings = readdirSync(new URL('get/', TESTDATA)).filter((file) => file.endsWith('.json'));

function load(file: string): { now: Date; objects: ServiceObjects } {
  const recorded = JSON.parse(readFileSync(new URL(`get/${file}`, TESTDATA), 'utf8')) as {
    now: string;
    objects: ServiceObjects;
  };
  return { now: new Date(recorded.now), objects: recorded.objects };
}

function matchesGolden(name: string, actual: string): void {
  const golden = new URL(name, TESTDATA);
  if (process.env.FLOTILLA_UPDATE_SNAPSHOTS === '1') writeFileSync(golden, actual);
  assert.ok(existsSync(golden), `${name} is missing: FLOTILLA_UPDATE_SNAPSHOTS=1 writes it`);
  assert.equal(actual, readFileSync(golden, 'utf8'), `${name} differs (FLOTILLA_UPDATE_SNAPSHOTS=1 rewrites it)`);
}

describe('get: the service tree', () => {
  for (const file of recordings) {
    it(`renders ${file} as its golden tree`, () => {
      const { now, objects } = load(file);
      matchesGolden(`get/${file.replace(/\.json$/, '.tree.txt')}`, renderTree(buildServiceView(objects, now), PLAIN));
    });
  }

  it('shows the canary at its pause: step, weights as set and as routed, both revisions with their pods', () => {
    const { now, objects } = load('orders-paused.json');
    const view = buildServiceView(objects, now);
    assert.deepEqual(
      view.revisions.map((r) => [r.role, r.revision, `${r.ready}/${r.desired}`, r.pods.length]),
      [
        ['stable', '18f0590c11', '2/2', 2],
        ['canary', 'bbcc0b7d60', '1/1', 1],
      ],
    );
    assert.deepEqual(view.rollout?.step, { current: 2, total: 4, what: 'pause until promoted' });
    assert.deepEqual(view.routes[0]?.weights, [
      { backend: 'stable', weight: 90 },
      { backend: 'canary', weight: 10 },
    ]);
  });

  it('uses colours and symbols only when the style asks, and cuts lines to the terminal', () => {
    const { now, objects } = load('orders-paused.json');
    const view = buildServiceView(objects, now);
    const plain = renderTree(view, PLAIN);
    for (const mark of ['\u001b', '✔', '◷', '✖']) assert.ok(!plain.includes(mark), mark);
    const coloured = renderTree(view, { color: true });
    assert.ok(coloured.includes('\u001b[33m◷ Paused'));
    for (const line of renderTree(view, { color: true, width: 40 }).trimEnd().split('\n')) {
      // biome-ignore lint/suspicious/noControlCharactersInRegex: colour codes take no column
      assert.ok(line.replace(/\u001b\[[0-9;]*m/g, '').length <= 40, line);
    }
  });

  it('takes its style from the stream: plain in pipes, colour on a TTY unless NO_COLOR', () => {
    assert.deepEqual(styleFor({ isTTY: false }, {}), PLAIN);
    assert.deepEqual(styleFor({ isTTY: true, columns: 100 }, {}), { color: true, width: 100 });
    assert.deepEqual(styleFor({ isTTY: true, columns: 100 }, { NO_COLOR: '1' }), { color: false, width: 100 });
  });

  it('shows messaging: its condition, server, user and Secret, and mq in the fleet', () => {
    const { now, objects } = load('orders-paused.json');
    const microService = structuredClone(objects.microService) as MicroService;
    microService.spec.messaging = { serverRef: 'rabbitmq-main' };
    microService.status = {
      ...microService.status,
      conditions: [
        ...(microService.status?.conditions ?? []),
        {
          type: 'MessagingReady',
          status: 'False',
          reason: 'ConnectionRefused',
          message: 'nothing accepts connections',
        },
      ] as never,
      messaging: { secretName: 'orders-mq', username: 'shop.orders' },
    };
    const tree = renderTree(buildServiceView({ ...objects, microService }, now), PLAIN);
    assert.match(tree, /messaging .*ConnectionRefused.*server rabbitmq-main {2}user shop\.orders {2}Secret orders-mq/);
    const [row] = buildFleet([microService], [], now);
    assert.match(row?.database ?? '', /mq:ConnectionRefused/);
  });

  it('shows the analysis runs the release waits on, each metric with its last value and verdict', () => {
    const { now, objects } = load('orders-paused.json');
    const rollout = structuredClone(objects.rollout) as Rollout;
    rollout.status = {
      ...rollout.status,
      analysisRuns: [
        {
          name: 'orders-bbcc0b7d60-1-step-2',
          gate: 'Step',
          phase: 'Running',
          metrics: [
            { name: 'success-rate', phase: 'Successful', lastValue: '0.998', condition: 'result >= 0.99' },
            { name: 'latency-p99', phase: 'Pending', dryRun: true },
          ],
        },
        { name: 'orders-bbcc0b7d60-1-background', gate: 'Background', phase: 'Failed', message: 'errors above 1%' },
      ],
    };
    const lines = renderTree(buildServiceView({ ...objects, rollout }, now), PLAIN).split('\n');
    const at = lines.findIndex((line) => line.includes('AnalysisRun orders-bbcc0b7d60-1-step-2  Step  Running'));
    assert.ok(at > 0, `the step run is shown:\n${lines.join('\n')}`);
    assert.match(lines[at + 1] ?? '', /success-rate {2}Successful {2}last 0\.998 \(result >= 0\.99\)$/);
    assert.match(lines[at + 2] ?? '', /latency-p99 {2}Pending {2}no value yet {2}dry run$/);
    assert.ok(
      lines.some((line) =>
        line.includes('AnalysisRun orders-bbcc0b7d60-1-background  Background  Failed  errors above 1%'),
      ),
    );
  });

  it('says so when the service does not exist', () => {
    const view = buildServiceView(
      { namespace: 'shop', name: 'nope', deployments: [], replicaSets: [], pods: [] },
      new Date(),
    );
    assert.equal(renderTree(view), 'MicroService shop/nope not found\n');
  });
});

describe('list: the fleet', () => {
  it('puts unhealthy services first, one line each', () => {
    const { now, objects } = load('orders-paused.json');
    const ms = (name: string, conditions: { type: string; status: string; reason?: string }[]) =>
      ({
        metadata: { name, namespace: 'shop', creationTimestamp: objects.microService?.metadata.creationTimestamp },
        spec: { image: `registry.example.com/shop/${name}:1.0.0` },
        status: { replicas: 2, readyReplicas: 2, currentRevision: '5c8d7e6f90', conditions },
      }) as MicroService;
    const services = [
      objects.microService as MicroService,
      ms('users', [{ type: 'Ready', status: 'True' }]),
      ms('inventory', [
        { type: 'Ready', status: 'False' },
        { type: 'Degraded', status: 'True', reason: 'ReleaseAborted' },
      ]),
    ];
    const rows = buildFleet(services, [objects.rollout as Rollout], now);
    assert.deepEqual(
      rows.map((r) => `${r.name}:${r.phase}`),
      ['inventory:Degraded', 'orders:Paused', 'users:Healthy'],
    );
    assert.match(renderFleet(rows, PLAIN, false), /^inventory +Degraded/m);
  });

  it('renders the recorded shop as its golden table', () => {
    const recorded = JSON.parse(readFileSync(new URL('list/shop.json', TESTDATA), 'utf8')) as {
      now: string;
      microServices: MicroService[];
      rollouts: Rollout[];
    };
    const rows = buildFleet(recorded.microServices, recorded.rollouts, new Date(recorded.now));
    matchesGolden('list/shop.list.txt', renderFleet(rows, PLAIN, false));
  });

  it('writes ages as kubectl does', () => {
    const now = new Date('2026-11-30T12:00:00Z');
    assert.deepEqual(
      ['2026-11-30T11:59:15Z', '2026-11-30T11:30:00Z', '2026-11-30T02:00:00Z', '2026-11-20T12:00:00Z'].map((t) =>
        formatAge(t, now),
      ),
      ['45s', '30m', '10h', '10d'],
    );
  });
});
