import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  entrypointNodeFlags,
  heapFigures,
  parseProcStatus,
  peakOf,
  requestsByVerb,
  samplesOf,
  selectScenarios,
  writeCounts,
} from './metrics-text.ts';

const METRICS = `# HELP flotilla_api_requests_total Requests to the Kubernetes API server by verb and HTTP status code.
# TYPE flotilla_api_requests_total counter
flotilla_api_requests_total{verb="LIST",code="200"} 9
flotilla_api_requests_total{verb="WATCH",code="200"} 12
flotilla_api_requests_total{verb="APPLY",code="200"} 700
flotilla_api_requests_total{verb="APPLY",code="409"} 3
flotilla_api_requests_total{verb="CREATE",code="201"} 200
flotilla_api_requests_total{verb="PATCH",code="200"} 5
flotilla_api_requests_total{verb="DELETE",code="error"} 1
flotilla_api_request_duration_seconds_bucket{le="0.005",verb="APPLY"} 650
flotilla_api_requests_total_other{verb="APPLY"} 1000
flotilla_reconcile_total{kind="MicroService",result="success",note="a \\"quoted\\" value"} 4.5
`;

test('samplesOf reads the labels and value of exactly the named metric', () => {
  const samples = samplesOf(METRICS, 'flotilla_api_requests_total');
  assert.equal(samples.length, 7);
  assert.deepEqual(samples[0], { labels: { verb: 'LIST', code: '200' }, value: 9 });
  assert.deepEqual(samplesOf(METRICS, 'flotilla_reconcile_total'), [
    { labels: { kind: 'MicroService', result: 'success', note: 'a "quoted" value' }, value: 4.5 },
  ]);
  assert.deepEqual(samplesOf(METRICS, 'flotilla_absent'), []);
  assert.deepEqual(samplesOf('process_open_fds 17\n', 'process_open_fds'), [{ labels: {}, value: 17 }]);
});

test('requestsByVerb sums every status code of a verb', () => {
  assert.deepEqual(requestsByVerb(METRICS), {
    LIST: 9,
    WATCH: 12,
    APPLY: 703,
    CREATE: 200,
    PATCH: 5,
    DELETE: 1,
  });
});

test('writeCounts leaves reads out, tells Event writes apart, and subtracts what came before', () => {
  const now = requestsByVerb(METRICS);
  assert.deepEqual(writeCounts(now), { all: 909, events: 205, withoutEvents: 704 });
  assert.deepEqual(writeCounts(now, { LIST: 5, APPLY: 3, CREATE: 0 }), { all: 906, events: 205, withoutEvents: 701 });
  assert.deepEqual(writeCounts({ GET: 4, LIST: 2, WATCH: 1 }), { all: 0, events: 0, withoutEvents: 0 });
});

test('parseProcStatus reads the peak and current resident set in MiB', () => {
  const status = 'Name:\tnode\nVmPeak:\t 1234567 kB\nVmHWM:\t  204800 kB\nVmRSS:\t  153600 kB\nThreads:\t11\n';
  assert.deepEqual(parseProcStatus(status), { peakRssMiB: 200, rssMiB: 150 });
  const missing = parseProcStatus('Name:\tzombie\n');
  assert.ok(Number.isNaN(missing.peakRssMiB) && Number.isNaN(missing.rssMiB));
});

test('selectScenarios runs all but scale and soak by default, the named ones otherwise, in their own order', () => {
  assert.deepEqual(selectScenarios([]), ['runtime', 'microservices', 'databases', 'rollouts', 'config', 'analysis']);
  assert.deepEqual(selectScenarios(['rollouts', 'databases']), ['databases', 'rollouts']);
  assert.deepEqual(selectScenarios(['microservices']), ['microservices']);
  assert.deepEqual(selectScenarios(['microservices', 'runtime']), ['runtime', 'microservices']);
  assert.deepEqual(selectScenarios(['soak', 'scale']), ['scale', 'soak']);
  assert.throws(() => selectScenarios(['microservice']), /unknown bench scenario microservice/);
});

test('heapFigures reads the heap by space in MiB, and peakOf keeps the largest of each', () => {
  const MiB = 1024 * 1024;
  const text = (newSpace: number, old: number, external: number) =>
    [
      `flotilla_nodejs_heap_size_total_bytes ${(newSpace + old) * MiB}`,
      `flotilla_nodejs_heap_size_used_bytes ${old * MiB}`,
      `flotilla_nodejs_external_memory_bytes ${external * MiB}`,
      `flotilla_nodejs_heap_space_size_total_bytes{space="new"} ${newSpace * MiB}`,
      `flotilla_nodejs_heap_space_size_total_bytes{space="old"} ${old * MiB}`,
      'flotilla_nodejs_heap_space_size_total_bytes{space="shared"} 0',
      `flotilla_nodejs_heap_space_size_used_bytes{space="old"} ${old * MiB}`,
    ].join('\n');
  const first = heapFigures(text(64, 30, 20));
  assert.deepEqual(first, { total: 94, used: 30, spaces: { new: 64, old: 30 }, external: 20 });
  const second = heapFigures(text(16, 90, 5));
  assert.deepEqual(peakOf(peakOf(undefined, first), second), {
    total: 106,
    used: 90,
    spaces: { new: 64, old: 90 },
    external: 20,
  });
  assert.ok(Number.isNaN(heapFigures('').total));
});

test('entrypointNodeFlags reads the node options before the script of the last exec-form ENTRYPOINT', () => {
  const dockerfile = [
    'FROM node:24 AS build',
    'ENTRYPOINT ["node", "old.js"]',
    'FROM node:24',
    '# ENTRYPOINT ["node", "--commented-out", "x.js"]',
    'ENTRYPOINT ["node", "--max-semi-space-size=4", "--enable-source-maps", "operator/src/main.js", "--not-a-node-flag"]',
    'CMD ["run"]',
  ].join('\n');
  assert.deepEqual(entrypointNodeFlags(dockerfile), ['--max-semi-space-size=4', '--enable-source-maps']);
  assert.deepEqual(entrypointNodeFlags('ENTRYPOINT ["node", "main.js"]'), []);
  assert.deepEqual(entrypointNodeFlags('ENTRYPOINT ["/bin/sh", "-c", "node main.js"]'), []);
  assert.deepEqual(entrypointNodeFlags('FROM scratch'), []);
});
