// Table tests of the provisioners' part of plan: their conditions (DatabaseReady), status fields and the
// credentials hash on the pod template (pods roll when, and only when, the credentials change).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MicroService } from '../../api/microservice.ts';
import { microService, withHttpPort } from '../../desired/testing.ts';
import { CREDENTIALS_HASH_ANNOTATION, computeCredentialsHash, DATABASE_READY } from '../../provisioning/index.ts';
import type { Condition } from '../../release/conditions.ts';
import { type Plan, type ProvisionedInput, plan } from './plan.ts';

type DatabasePlanInput = Omit<ProvisionedInput, 'field'>;

const NOW = '2026-01-01T00:00:00Z';
const LATER = '2026-01-01T00:05:00Z';

const withDatabase = (ms: MicroService): void => {
  ms.spec.database = { serverRef: 'postgres-main' };
};

function planWith(ms: MicroService, database: DatabasePlanInput | undefined, now = NOW): Plan {
  return plan({
    ms,
    children: [],
    foreignRoutes: [],
    deletedByOthers: new Set(),
    rollout: undefined,
    dependents: [],
    installed: { istio: false, gatewayAPI: false },
    now,
    ...(database ? { provisioned: [{ field: 'database', ...database }] } : {}),
  });
}

const CREDENTIALS = {
  DATABASE_URL: 'postgresql://shop_orders:pw@db:5432/shop_orders',
  host: 'db',
  port: '5432',
  database: 'shop_orders',
  username: 'shop_orders',
  password: 'pw',
};

const ready: DatabasePlanInput = {
  condition: { type: DATABASE_READY, status: 'True', reason: 'Provisioned', message: 'ok' },
  status: { serverRef: 'postgres-main', name: 'shop_orders', secretName: 'orders-db' },
  credentialsHash: computeCredentialsHash(CREDENTIALS),
};

const templateAnnotation = (planned: Plan): string | undefined => {
  const deployment = planned.apply.find((a) => a.object.kind === 'Deployment')?.object as
    | { spec: { template: { metadata: { annotations?: Record<string, string> } } } }
    | undefined;
  return deployment?.spec.template.metadata.annotations?.[CREDENTIALS_HASH_ANNOTATION];
};
const databaseCondition = (planned: Plan): Condition | undefined =>
  (planned.status.conditions as Condition[]).find((c) => c.type === DATABASE_READY);

describe('plan with a database', () => {
  it('reports DatabaseReady and status.database, and puts the credentials hash on the pod template', () => {
    const planned = planWith(microService('orders', withHttpPort(), withDatabase), ready);
    assert.deepEqual(databaseCondition(planned), {
      type: DATABASE_READY,
      status: 'True',
      reason: 'Provisioned',
      message: 'ok',
      lastTransitionTime: NOW,
      observedGeneration: 1,
    });
    assert.deepEqual(planned.status.database, ready.status);
    assert.equal(templateAnnotation(planned), ready.credentialsHash);
    assert.match(ready.credentialsHash ?? '', /^[0-9a-f]{16}$/);
  });

  it('keeps the hash while the credentials are the same, and changes it when any of them changes', () => {
    const same = computeCredentialsHash({ ...CREDENTIALS });
    assert.equal(same, ready.credentialsHash);
    for (const key of Object.keys(CREDENTIALS)) {
      assert.notEqual(computeCredentialsHash({ ...CREDENTIALS, [key]: 'other' }), same, key);
    }
    assert.ok(!same.includes('pw'));
  });

  it('no hash (no Secret yet): no annotation; no database input: no DatabaseReady', () => {
    const { credentialsHash: _, ...noHash } = ready;
    assert.equal(templateAnnotation(planWith(microService('orders', withDatabase), noHash)), undefined);
    const plain = planWith(microService('orders'), undefined);
    assert.equal(databaseCondition(plain), undefined);
    assert.equal(plain.status.database, undefined);
  });

  it('keeps lastTransitionTime while DatabaseReady does not flip, and keeps status.database on failure', () => {
    const first = planWith(microService('orders', withDatabase), ready);
    const ms = microService('orders', withDatabase);
    ms.status = first.status;
    const again = planWith(ms, ready, LATER);
    assert.equal(databaseCondition(again)?.lastTransitionTime, NOW);
    const failed = planWith(
      ms,
      { condition: { type: DATABASE_READY, status: 'False', reason: 'ConnectionRefused', message: 'down' } },
      LATER,
    );
    assert.equal(databaseCondition(failed)?.lastTransitionTime, LATER);
    assert.equal(databaseCondition(failed)?.reason, 'ConnectionRefused');
    assert.deepEqual(failed.status.database, ready.status, 'status.database carried over');
    assert.equal(
      (failed.status.conditions as Condition[]).filter((c) => c.type === DATABASE_READY).length,
      1,
      'one DatabaseReady condition',
    );
  });
});
