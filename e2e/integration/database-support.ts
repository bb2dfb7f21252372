// Helpers of the database provisioning tests (microservice-database*.test.ts): DatabaseServers and
// admin Secrets of this run only, pointing at the real loopback servers of `npm run databases`; the
// MicroService and DatabaseServer controllers run in-process with their JSON logs captured.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { REDACTED_PATHS } from '../../operator/src/cli/logger.ts';
import { createDatabaseServerController } from '../../operator/src/controllers/databaseserver/controller.ts';
import { createMicroServiceController } from '../../operator/src/controllers/microservice/index.ts';
import {
  type AdminConnection,
  createEngine,
  type DatabaseEngineName,
  EngineRegistry,
  RedisEngineRegistry,
} from '../../operator/src/database/index.ts';
import { KubeClient } from '../../operator/src/kube/client.ts';
import { createTransport } from '../../operator/src/kube/transport.ts';
import type { Controller } from '../../operator/src/runtime/controller.ts';
import { databaseServer } from '../databases/servers.ts';
import type { TestCluster } from '../support/cluster.ts';
import { ensureNamespace } from './api-support.ts';

export interface TestServer {
  /** The DatabaseServer's name. */
  name: string;
  admin: AdminConnection;
}

/** An admin Secret in `namespace` and a DatabaseServer `name` for the loopback server of `engine`. */
export async function createTestServer(
  cluster: TestCluster,
  engine: DatabaseEngineName,
  name: string,
  namespace: string,
  overrides: { port?: number; password?: string } = {},
): Promise<TestServer> {
  const admin = await databaseServer(engine);
  await ensureNamespace(cluster, namespace);
  const manifests = buildServerManifests(engine, name, namespace, {
    ...admin,
    ...(overrides.port !== undefined ? { port: overrides.port } : {}),
    ...(overrides.password !== undefined ? { password: overrides.password } : {}),
  });
  await cluster.kubectl(['apply', '-f', '-'], {
    input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: manifests }),
  });
  return { name, admin };
}

/** The admin Secret and DatabaseServer for a server at `admin`. Pure. */
export function buildServerManifests(
  engine: DatabaseEngineName | 'redis',
  name: string,
  secretNamespace: string,
  admin: Pick<AdminConnection, 'host' | 'port' | 'username' | 'password'>,
  /** More of the DatabaseServer's spec: allowedNamespaces, adoption. */
  spec: Record<string, unknown> = {},
): object[] {
  return [
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: `${name}-admin`, namespace: secretNamespace },
      type: 'Opaque',
      stringData: { username: admin.username, password: admin.password },
    },
    {
      apiVersion: 'flotilla.dev/v1alpha1',
      kind: 'DatabaseServer',
      metadata: { name },
      spec: {
        engine,
        host: admin.host,
        port: admin.port,
        adminSecretRef: { namespace: secretNamespace, name: `${name}-admin` },
        ...spec,
      },
    },
  ];
}

export interface RunningDatabaseControllers {
  microServices: Controller;
  databaseServers: Controller;
  client: KubeClient;
  engines: EngineRegistry;
  /** Every ensureDatabase and dropDatabase call the engines received, as `ensure <database>` / `drop <database>`. */
  serverCalls: string[];
  /** Every log line written so far, as JSON text. */
  logs: string[];
  stop(): Promise<void>;
}

/** The MicroService controller (with databases) for `namespace` and the DatabaseServer controller, in-process. */
export async function startDatabaseControllers(
  cluster: TestCluster,
  namespace: string,
  options: { reclaimTimeoutMs?: number; withServerController?: boolean } = {},
): Promise<RunningDatabaseControllers> {
  const client = new KubeClient(await createTransport(cluster.kubeConfig));
  const logs: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      logs.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  const logger = pino({ level: 'debug', redact: { paths: REDACTED_PATHS, censor: '[redacted]' } }, stream);
  const serverCalls: string[] = [];
  const engines = new EngineRegistry((admin) => {
    const engine = createEngine(admin);
    return {
      ...engine,
      engine: engine.engine,
      checkConnection: () => engine.checkConnection(),
      close: () => engine.close(),
      ensureDatabase: (request) => {
        serverCalls.push(`ensure ${request.database}`);
        return engine.ensureDatabase(request);
      },
      dropDatabase: (target) => {
        serverCalls.push(`drop ${target.database}`);
        return engine.dropDatabase(target);
      },
    };
  });
  // The cache step's Redis connections, closed with the rest (a private registry would stay open).
  const cacheEngines = new RedisEngineRegistry();
  const microServices = createMicroServiceController({
    client,
    logger,
    namespace,
    concurrency: 8,
    databases: {
      engines,
      cacheEngines,
      ...(options.reclaimTimeoutMs !== undefined ? { reclaimTimeoutMs: options.reclaimTimeoutMs } : {}),
    },
  });
  const databaseServers = createDatabaseServerController({
    client,
    logger,
    engines,
    recheckIntervalMs: 2_000,
    retryIntervalMs: 1_000,
  });
  const withServers = options.withServerController ?? true;
  await Promise.all([microServices.start(), ...(withServers ? [databaseServers.start()] : [])]);
  return {
    microServices,
    databaseServers,
    client,
    engines,
    serverCalls,
    logs,
    stop: async () => {
      await Promise.all([microServices.stop(), ...(withServers ? [databaseServers.stop()] : [])]);
      await engines.closeAll();
      await cacheEngines.closeAll();
      await client.close();
    },
  };
}

/** The decoded data of the Secret `<name>-db`. */
export async function databaseSecret(
  cluster: TestCluster,
  namespace: string,
  name: string,
): Promise<Record<string, string>> {
  const secret = JSON.parse(await cluster.kubectl(['-n', namespace, 'get', 'secret', `${name}-db`, '-o', 'json'])) as {
    data: Record<string, string>;
  };
  return Object.fromEntries(
    Object.entries(secret.data).map(([key, value]) => [key, Buffer.from(value, 'base64').toString('utf8')]),
  );
}
