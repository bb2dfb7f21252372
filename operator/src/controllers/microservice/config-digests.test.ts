import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { configCondition } from './config-digests.ts';

describe('configCondition', () => {
  it('is True when nothing is missing, ConfigNotFound naming what is', () => {
    assert.equal(configCondition([]).status, 'True');
    const missing = configCondition(['Secret/orders-keys']);
    assert.deepEqual([missing.status, missing.reason], ['False', 'ConfigNotFound']);
    assert.match(missing.message, /^Secret\/orders-keys does not exist/);
  });
});
