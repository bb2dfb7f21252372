// The database figures of `npm run bench` (also alone: `node e2e/bench/databases.ts`): 100
// MicroServices with a database created at once, on the real PostgreSQL and MariaDB of `npm run
// databases` — the time until all are DatabaseReady, beside a plain loop of the same CREATE ROLE /
// CREATE DATABASE / REVOKE (GRANT) statements on the same server in the same run, and the admin
// connections open at peak. It prints; it asserts nothing. What it creates is deleted at the end.
import mysql from 'mysql2/promise';
import pg from 'pg';
import { pino } from 'pino';
import { createMicroServiceController } from '../../operator/src/controllers/microservice/index.ts';
import { databaseServerType, microServiceType } from '../../operator/src/controllers/microservice/resources.ts';
import {
  type AdminConnection,
  type DatabaseEngineName,
  EngineRegistry,
  generatePassword,
  quoteMysqlIdentifier,
  quotePostgresIdentifier,
} from '../../operator/src/database/index.ts';
import { createKubeClient, type KubeClient } from '../../operator/src/kube/client.ts';
import type { KubeObject } from '../../operator/src/kube/objects.ts';
import { databaseServer } from '../databases/servers.ts';
import { buildServerManifests } from '../integration/database-support.ts';
import { ensureNamespace } from '../integration/runtime-helpers.ts';
import { connectToCluster, type TestCluster } from '../support/cluster.ts';

const SCALE = Number(process.env.FLOTILLA_BENCH_SCALE ?? 1);
const SERVICES = Math.max(2, Math.round(100 * SCALE));
/** The operator's default (`flotilla run --concurrency`). */
const CONCURRENCY = 4;

type Print = (line?: string) => void;

interface AdminSession {
  /** Sessions the admin user has open on the server, this one excluded. */
  adminSessions(): Promise<number>;
  /** The plain loop: the statements the operator issues for one service, on this one connection. */
  provision(database: string, password: string): Promise<void>;
  drop(database: string): Promise<void>;
  count(prefix: string): Promise<number>;
  close(): Promise<void>;
}

async function adminSession(admin: AdminConnection): Promise<AdminSession> {
  if (admin.engine === 'postgres') {
    const client = new pg.Client({
      host: admin.host,
      port: admin.port,
      user: admin.username,
      password: admin.password,
      database: admin.database ?? 'postgres',
      application_name: 'flotilla-bench',
    });
    await client.connect();
    return {
      async adminSessions() {
        const { rows } = await client.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = $1 AND pid <> pg_backend_pid()',
          [admin.username],
        );
        return rows[0]?.n ?? 0;
      },
      async provision(database, password) {
        const q = quotePostgresIdentifier(database);
        await client.query(`CREATE ROLE ${q} WITH LOGIN PASSWORD '${password}'`);
        await client.query(`CREATE DATABASE ${q} OWNER ${q}`);
        await client.query(`REVOKE CONNECT ON DATABASE ${q} FROM PUBLIC`);
      },
      async drop(database) {
        const q = quotePostgresIdentifier(database);
        await client.query(`DROP DATABASE IF EXISTS ${q} WITH (FORCE)`);
        await client.query(`DROP ROLE IF EXISTS ${q}`);
      },
      async count(prefix) {
        const { rows } = await client.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM pg_database WHERE starts_with(datname, $1)',
          [prefix],
        );
        return rows[0]?.n ?? 0;
      },
      close: () => client.end(),
    };
  }
  const connection = await mysql.createConnection({
    host: admin.host,
    port: admin.port,
    user: admin.username,
    password: admin.password,
  });
  return {
    async adminSessions() {
      const [rows] = await connection.query(
        'SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE USER = ? AND ID <> CONNECTION_ID()',
        [admin.username],
      );
      return Number((rows as { n: number }[])[0]?.n ?? 0);
    },
    async provision(database, password) {
      const q = quoteMysqlIdentifier(database);
      await connection.query(`CREATE USER '${database}'@'%' IDENTIFIED BY '${password}'`);
      await connection.query(`CREATE DATABASE ${q}`);
      await connection.query(`GRANT ALL PRIVILEGES ON ${q}.* TO '${database}'@'%'`);
    },
    async drop(database) {
      await connection.query(`DROP DATABASE IF EXISTS ${quoteMysqlIdentifier(database)}`);
      await connection.query(`DROP USER IF EXISTS '${database}'@'%'`);
    },
    async count(prefix) {
      const [rows] = await connection.query(
        'SELECT COUNT(*) AS n FROM information_schema.SCHEMATA WHERE LEFT(SCHEMA_NAME, CHAR_LENGTH(?)) = ?',
        [prefix, prefix],
      );
      return Number((rows as { n: number }[])[0]?.n ?? 0);
    },
    close: () => connection.end(),
  };
}

/** Samples `read` every 25 ms until stopped; resolves with the highest value seen. */
function samplePeak(read: () => Promise<number>): { stop(): Promise<number> } {
  let peak = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      peak = Math.max(peak, await read().catch(() => 0));
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return peak;
    },
  };
}

async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs = 600_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const databaseReady = (ms: KubeObject): boolean =>
  ((ms.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? []).some(
    (c) => c.type === 'DatabaseReady' && c.status === 'True',
  );

async function benchEngine(
  cluster: TestCluster,
  client: KubeClient,
  engine: DatabaseEngineName,
  print: Print,
): Promise<void> {
  const id = Date.now().toString(36);
  const namespace = `flotilla-bench-db-${engine === 'postgres' ? 'pg' : 'my'}-${id}`;
  const serverName = namespace;
  const prefix = namespace.replaceAll('-', '_');
  const plainPrefix = `flotilla_bench_plain_${id}_`;
  const admin = await databaseServer(engine);
  const session = await adminSession(admin);
  const engines = new EngineRegistry();
  const controller = createMicroServiceController({
    client,
    logger: pino({ level: 'silent' }),
    namespace,
    concurrency: CONCURRENCY,
    databases: { engines },
  });
  try {
    await ensureNamespace(cluster, namespace);
    await cluster.kubectl(['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'v1',
        kind: 'List',
        items: buildServerManifests(engine, serverName, namespace, admin),
      }),
    });
    await controller.start();
    await waitUntil('the DatabaseServer in the cache', async () =>
      Boolean(controller.cache(databaseServerType).get(serverName)),
    );

    const idle = await session.adminSessions();
    const peak = samplePeak(() => session.adminSessions());
    const started = performance.now();
    await Promise.all(
      Array.from({ length: SERVICES }, (_, i) =>
        client.create(microServiceType, {
          apiVersion: 'flotilla.dev/v1alpha1',
          kind: 'MicroService',
          metadata: { name: `svc-${i}`, namespace },
          spec: {
            image: `registry.example.com/bench/svc-${i}:1`,
            database: { serverRef: serverName, reclaimPolicy: 'Delete' },
          },
        }),
      ),
    );
    await waitUntil(`${SERVICES} DatabaseReady`, async () => {
      const { items } = await client.list(microServiceType, { namespace });
      return items.filter(databaseReady).length === SERVICES;
    });
    const operatorMs = performance.now() - started;
    const peakSessions = await peak.stop();

    const plainStarted = performance.now();
    for (let i = 0; i < SERVICES; i++) await session.provision(`${plainPrefix}${i}`, generatePassword());
    const plainMs = performance.now() - plainStarted;

    const reclaimStarted = performance.now();
    await cluster.kubectl(['-n', namespace, 'delete', 'microservices', '--all', '--wait=true', '--timeout=600s']);
    const reclaimMs = performance.now() - reclaimStarted;
    const left = await session.count(prefix);

    const label = engine === 'postgres' ? 'PostgreSQL' : 'MariaDB';
    const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
    print(`  ${label} ${admin.host}:${admin.port}, ${SERVICES} services, --concurrency ${CONCURRENCY}`);
    print(`    operator: created at once → all DatabaseReady   ${s(operatorMs).padStart(9)}`);
    print(`    plain loop of the same statements, one session  ${s(plainMs).padStart(9)}`);
    print(`    ratio operator / plain loop                     ${(operatorMs / plainMs).toFixed(2).padStart(7)}×`);
    print(
      `    admin connections open at peak                 ${String(peakSessions).padStart(7)}   (${idle} before; pool bound 4)`,
    );
    print(`    deleted (reclaimPolicy Delete) → all dropped    ${s(reclaimMs).padStart(9)}   (${left} databases left)`);
  } finally {
    await controller.stop();
    await engines.closeAll();
    for (let i = 0; i < SERVICES; i++) await session.drop(`${plainPrefix}${i}`).catch(() => {});
    await session.close();
    await cluster.kubectl(['delete', 'databaseserver', serverName, '--ignore-not-found']).catch(() => '');
    await cluster.kubectl(['delete', 'namespace', namespace, '--wait=false', '--ignore-not-found']).catch(() => '');
  }
}

/** Prints the database figures on both engines (an engine without a server is said and skipped). */
export async function benchDatabases(print: Print = (line = '') => console.log(line)): Promise<void> {
  const cluster = await connectToCluster();
  const client = await createKubeClient(cluster.kubeConfig);
  try {
    print(`4. databases: ${SERVICES} MicroServices with a database, created at once`);
    for (const engine of ['postgres', 'mysql'] as const) {
      try {
        await benchEngine(cluster, client, engine, print);
      } catch (error) {
        print(`  ${engine}: not measured: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    print();
  } finally {
    await client.close();
  }
}

if (import.meta.main) await benchDatabases();
