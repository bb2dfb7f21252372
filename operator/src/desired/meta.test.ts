import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { childMeta, clusterLocalHost, identityOf, ownerReferenceTo } from './meta.ts';
import { microService, withNamespace } from './testing.ts';

describe('child metadata', () => {
  it('names the child after the service, labels it as ours and points its controller owner reference at the MicroService', () => {
    assert.deepEqual(childMeta(microService('orders')), {
      name: 'orders',
      namespace: 'shop',
      labels: {
        'app.kubernetes.io/name': 'orders',
        'app.kubernetes.io/instance': 'orders',
        'app.kubernetes.io/managed-by': 'flotilla',
      },
      ownerReferences: [
        {
          apiVersion: 'flotilla.dev/v1alpha1',
          kind: 'MicroService',
          name: 'orders',
          uid: 'uid-orders',
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    });
  });

  it('takes another child name when given one', () => {
    assert.equal(childMeta(microService('orders'), 'orders-preview').name, 'orders-preview');
  });

  it('refuses a MicroService without a uid or a namespace', () => {
    const noUid = microService('orders', (ms) => {
      delete ms.metadata.uid;
    });
    assert.throws(() => ownerReferenceTo(noUid), /no metadata.uid/);
    const noNamespace = microService('orders', (ms) => {
      delete ms.metadata.namespace;
    });
    assert.throws(() => identityOf(noNamespace), /metadata.namespace/);
  });

  const hosts = [
    { namespace: 'shop', domain: undefined, host: 'orders.shop.svc.cluster.local' },
    { namespace: 'billing', domain: 'corp.internal', host: 'orders.billing.svc.corp.internal' },
  ];
  for (const c of hosts) {
    it(`the cluster-local host in ${c.namespace} with domain ${c.domain ?? 'default'} is ${c.host}`, () => {
      assert.equal(clusterLocalHost(microService('orders', withNamespace(c.namespace)), c.domain), c.host);
    });
  }
});
