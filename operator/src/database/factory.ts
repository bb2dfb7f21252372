// Chooses the engine for a server, and keeps exactly one engine (one bounded pool) per server.
import { sha256Hex } from '../common/hash.ts';
import { createMysqlEngine } from './mysql.ts';
import { createPostgresEngine } from './postgres.ts';
import type { AdminConnection, DatabaseEngine } from './types.ts';

export function createEngine(admin: AdminConnection): DatabaseEngine {
  switch (admin.engine) {
    case 'postgres':
      return createPostgresEngine(admin);
    case 'mysql':
      return createMysqlEngine(admin);
    default:
      throw new Error(`unknown database engine ${JSON.stringify(admin.engine satisfies never)}`);
  }
}

/** Identifies a connection's settings without keeping the password in memory as a key. */
function fingerprint(admin: AdminConnection): string {
  return sha256Hex(JSON.stringify(admin));
}

/**
 * One engine per server (keyed by the DatabaseServer's name). When the server's address or admin
 * credentials change, the old pool is closed and a new one made; forget() closes a deleted server's pool.
 */
export class EngineRegistry {
  readonly #engines = new Map<string, { fingerprint: string; engine: DatabaseEngine }>();
  readonly #create: (admin: AdminConnection) => DatabaseEngine;

  constructor(create: (admin: AdminConnection) => DatabaseEngine = createEngine) {
    this.#create = create;
  }

  get(server: string, admin: AdminConnection): DatabaseEngine {
    const wanted = fingerprint(admin);
    const existing = this.#engines.get(server);
    if (existing?.fingerprint === wanted) return existing.engine;
    if (existing) void existing.engine.close().catch(() => {});
    const engine = this.#create(admin);
    this.#engines.set(server, { fingerprint: wanted, engine });
    return engine;
  }

  async forget(server: string): Promise<void> {
    const existing = this.#engines.get(server);
    this.#engines.delete(server);
    await existing?.engine.close();
  }

  async closeAll(): Promise<void> {
    const engines = [...this.#engines.values()];
    this.#engines.clear();
    await Promise.all(engines.map(({ engine }) => engine.close()));
  }

  get size(): number {
    return this.#engines.size;
  }
}
