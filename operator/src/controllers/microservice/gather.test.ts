import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { routeKindsInUse } from './gather.ts';

describe('routeKindsInUse', () => {
  const cases: [string, { istio: boolean; gatewayAPI: boolean }, string[]][] = [
    ['Istio alone', { istio: true, gatewayAPI: false }, ['VirtualService', 'DestinationRule']],
    [
      'both: Istio is chosen, so a hand-made HTTPRoute is no conflict',
      { istio: true, gatewayAPI: true },
      ['VirtualService', 'DestinationRule'],
    ],
    ['the Gateway API alone', { istio: false, gatewayAPI: true }, ['HTTPRoute']],
    ['neither', { istio: false, gatewayAPI: false }, []],
  ];
  for (const [name, installed, kinds] of cases) {
    it(name, () =>
      assert.deepEqual(
        routeKindsInUse(installed).map((type) => type.kind),
        kinds,
      ),
    );
  }
});
