import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Service } from '@kubernetes/client-node';
import { childMeta } from './meta.ts';
import { buildService } from './service.ts';
import { type Modifier, microService, validChild, withHttpPort, withPorts } from './testing.ts';

describe('buildService', () => {
  it('builds a ClusterIP Service selecting the pods, each port by name to the container port of that name', () => {
    assert.deepEqual(validChild(buildService(microService('orders', withHttpPort()))), {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: childMeta(microService('orders')),
      spec: {
        type: 'ClusterIP',
        selector: { 'app.kubernetes.io/name': 'orders', 'app.kubernetes.io/instance': 'orders' },
        ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }],
      },
    });
  });

  const cases: { name: string; modifiers: Modifier[]; ports: NonNullable<V1Service['spec']>['ports'] }[] = [
    { name: 'no ports: no Service', modifiers: [], ports: undefined },
    { name: 'an empty port list: no Service', modifiers: [withPorts()], ports: undefined },
    {
      name: 'several ports, protocols kept, targetPort always the name',
      modifiers: [
        withPorts(
          { name: 'http', port: 8002, targetPort: 8080 },
          { name: 'metrics', port: 9090 },
          { name: 'dns', port: 53, protocol: 'UDP' },
        ),
      ],
      ports: [
        { name: 'http', port: 8002, targetPort: 'http', protocol: 'TCP' },
        { name: 'metrics', port: 9090, targetPort: 'metrics', protocol: 'TCP' },
        { name: 'dns', port: 53, targetPort: 'dns', protocol: 'UDP' },
      ],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const service = buildService(microService('orders', ...c.modifiers));
      if (service) validChild(service);
      assert.deepEqual(service?.spec?.ports, c.ports);
    });
  }

  it('a Service of one revision, under another name, selects only that revision', () => {
    const service = validChild(
      buildService(microService('orders', withHttpPort()), { name: 'orders-preview', revision: 'abc1234567' }),
    );
    assert.equal(service.metadata?.name, 'orders-preview');
    assert.equal(service.metadata?.labels?.['app.kubernetes.io/name'], 'orders');
    assert.deepEqual(service.spec?.selector, {
      'app.kubernetes.io/name': 'orders',
      'app.kubernetes.io/instance': 'orders',
      'flotilla.dev/revision': 'abc1234567',
    });
  });
});
