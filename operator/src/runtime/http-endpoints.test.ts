import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { serveEndpoints } from './http-endpoints.ts';
import { createRuntimeMetrics } from './metrics.ts';

describe('HTTP endpoints', () => {
  it('serves /healthz, /readyz (503 until ready) and /metrics', async () => {
    let ready = false;
    const metrics = createRuntimeMetrics();
    metrics.reconciles.inc({ kind: 'MicroService', result: 'success' });
    metrics.requestObserver('APPLY', '200', 12);
    const endpoints = await serveEndpoints({
      host: '127.0.0.1',
      port: 0,
      metrics: metrics.registry,
      readiness: () => ({ ready, kinds: [{ kind: 'MicroService', synced: ready }] }),
    });
    try {
      assert.equal((await fetch(`${endpoints.url}/healthz`)).status, 200);
      const notReady = await fetch(`${endpoints.url}/readyz`);
      assert.equal(notReady.status, 503);
      assert.deepEqual(await notReady.json(), { ready: false, kinds: [{ kind: 'MicroService', synced: false }] });
      ready = true;
      assert.equal((await fetch(`${endpoints.url}/readyz`)).status, 200);
      const text = await (await fetch(`${endpoints.url}/metrics`)).text();
      assert.match(text, /flotilla_reconcile_total\{kind="MicroService",result="success"\} 1/);
      assert.match(text, /flotilla_api_requests_total\{verb="APPLY",code="200"\} 1/);
      assert.match(text, /flotilla_nodejs_eventloop_lag_seconds/);
      assert.equal((await fetch(`${endpoints.url}/nope`)).status, 404);
    } finally {
      await endpoints.close();
    }
  });
});
