import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createEngine, EngineRegistry } from './factory.ts';
import type { AdminConnection, DatabaseEngine } from './types.ts';

function recordingFactory() {
  const made: { admin: AdminConnection; closed: boolean }[] = [];
  const create = (admin: AdminConnection): DatabaseEngine => {
    const record = { admin, closed: false };
    made.push(record);
    return {
      engine: admin.engine,
      checkConnection: async () => ({ ok: true, serverVersion: 'test' }),
      ensureDatabase: async () => ({ actions: [] }),
      checkOwnership: async () => {},
      dropDatabase: async () => ({ actions: [] }),
      close: async () => {
        record.closed = true;
      },
    };
  };
  return { made, create };
}

const admin: AdminConnection = { engine: 'postgres', host: 'h', port: 5432, username: 'a', password: 'p' };

describe('EngineRegistry', () => {
  it('keeps one engine (one pool) per server while its settings stay the same', () => {
    const { made, create } = recordingFactory();
    const registry = new EngineRegistry(create);
    const first = registry.get('postgres-main', admin);
    assert.equal(registry.get('postgres-main', { ...admin }), first);
    assert.equal(made.length, 1);
    registry.get('mysql-main', { ...admin, engine: 'mysql', port: 3306 });
    assert.equal(registry.size, 2);
  });

  it('replaces the engine and closes the old pool when the admin credentials change', async () => {
    const { made, create } = recordingFactory();
    const registry = new EngineRegistry(create);
    const first = registry.get('postgres-main', admin);
    const second = registry.get('postgres-main', { ...admin, password: 'rotated' });
    assert.notEqual(second, first);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(
      made.map((m) => m.closed),
      [true, false],
    );
  });

  it('closes a forgotten server’s pool, and all pools at shutdown', async () => {
    const { made, create } = recordingFactory();
    const registry = new EngineRegistry(create);
    registry.get('a', admin);
    registry.get('b', { ...admin, host: 'other' });
    await registry.forget('a');
    assert.deepEqual(
      made.map((m) => m.closed),
      [true, false],
    );
    await registry.closeAll();
    assert.equal(made[1]?.closed, true);
    assert.equal(registry.size, 0);
  });
});

describe('createEngine', () => {
  it('chooses the engine named by the server', async () => {
    for (const engine of ['postgres', 'mysql'] as const) {
      const made = createEngine({ ...admin, engine });
      assert.equal(made.engine, engine);
      await made.close();
    }
  });
});
