import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDuration, toGatewayDuration, toProtoDuration } from './duration.ts';

describe('durations', () => {
  const cases: { input: string; ms: number; proto: string; gateway: string }[] = [
    { input: '500ms', ms: 500, proto: '0.5s', gateway: '500ms' },
    { input: '2s', ms: 2000, proto: '2s', gateway: '2s' },
    { input: '1.5s', ms: 1500, proto: '1.5s', gateway: '1s500ms' },
    { input: '90s', ms: 90_000, proto: '90s', gateway: '1m30s' },
    { input: '5m', ms: 300_000, proto: '300s', gateway: '5m' },
    { input: '1h30m', ms: 5_400_000, proto: '5400s', gateway: '1h30m' },
    { input: '1h1m1s1ms', ms: 3_661_001, proto: '3661.001s', gateway: '1h1m1s1ms' },
    { input: '0.5m', ms: 30_000, proto: '30s', gateway: '30s' },
    { input: '0s', ms: 0, proto: '0s', gateway: '0s' },
    { input: '1.0004s', ms: 1000, proto: '1s', gateway: '1s' },
  ];
  for (const c of cases) {
    it(`${c.input} → ${c.ms} ms, ${c.proto} for Istio, ${c.gateway} for the Gateway API`, () => {
      assert.equal(parseDuration(c.input), c.ms);
      assert.equal(toProtoDuration(c.input), c.proto);
      assert.equal(toGatewayDuration(c.input), c.gateway);
      assert.match(toGatewayDuration(c.input), /^([0-9]{1,5}(h|m|s|ms)){1,4}$/);
    });
  }

  for (const bad of ['', '5', '1d', '-1s', '1 s', '1us']) {
    it(`rejects ${JSON.stringify(bad)}`, () => {
      assert.throws(() => parseDuration(bad), /not a duration/);
    });
  }
});
