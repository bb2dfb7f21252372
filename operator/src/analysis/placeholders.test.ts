import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Metric } from '../api/analysis.ts';
import { type AnalysisContext, fillPlaceholders, mergeArgs, PlaceholderError, resolveMetric } from './placeholders.ts';

const context: AnalysisContext = {
  service: 'orders',
  namespace: 'shop',
  revision: { canary: 'b1', stable: 'a1' },
  workload: { canary: 'orders-b1', stable: 'orders-a1' },
};

describe('placeholders', () => {
  it('fills the context and the args', () => {
    const metric: Metric = {
      name: 'rate',
      successCondition: 'result > 0.99',
      provider: {
        prometheus: {
          address: 'http://127.0.0.1:9090',
          query:
            'rate(x{destination_workload="{{workload.canary}}",ns="{{ namespace }}",svc="{{service}}",rev="{{revision.canary}}",w="{{args.window}}"}[1m])',
        },
      },
    };
    const resolved = resolveMetric(metric, [{ name: 'window', value: '30s' }], context);
    assert.equal(
      resolved.provider.prometheus?.query,
      'rate(x{destination_workload="orders-b1",ns="shop",svc="orders",rev="b1",w="30s"}[1m])',
    );
  });
  it('keeps secret args as placeholders until measuring', () => {
    const metric: Metric = {
      name: 'web',
      successCondition: 'result == 1',
      provider: {
        web: { url: 'http://127.0.0.1/{{service}}', headers: [{ key: 'X-Token', value: '{{args.token}}' }] },
      },
    };
    const resolved = resolveMetric(
      metric,
      [{ name: 'token', valueFrom: { secretKeyRef: { name: 's', key: 't' } } }],
      context,
    );
    assert.equal(resolved.provider.web?.url, 'http://127.0.0.1/orders');
    assert.equal(resolved.provider.web?.headers?.[0]?.value, '{{args.token}}');
  });
  it('refuses an unknown placeholder, naming it', () => {
    assert.throws(() => fillPlaceholders('{{revision.canry}}', new Map()), PlaceholderError);
    assert.throws(() => fillPlaceholders('{{args.nope}}', new Map()), /unknown placeholder \{\{args\.nope\}\}/);
  });
  it('merges args: the Rollout overrides the template, and every arg needs a value', () => {
    assert.deepEqual(
      mergeArgs(
        [
          { name: 'a', value: '1' },
          { name: 'b', value: '2' },
        ],
        [{ name: 'b', value: '3' }],
      ),
      [
        { name: 'a', value: '1' },
        { name: 'b', value: '3' },
      ],
    );
    assert.throws(() => mergeArgs([{ name: 'a' }], []), /argument a has no value/);
  });
});
