// A dedicated database (spec.database.instance: dedicated): a one-replica StatefulSet of the engine's official
// image with a volume claim, the headless Service `<name>-db` in front of it, and a NetworkPolicy that lets
// only the service's own pods reach it. The server's user, password and database come from the same Secret
// `<name>-db` a shared database uses; the image's entrypoint creates them when it initialises the volume.
import type { V1EnvVar, V1Probe, V1Service, V1StatefulSet } from '@kubernetes/client-node';
import type { DatabaseEngine } from '../api/databaseserver.ts';
import { DEFAULT_DEDICATED_STORAGE, type MicroService } from '../api/microservice.ts';
import {
  type ChildMeta,
  childMeta,
  databaseSecretName,
  identityOf,
  LABEL_INSTANCE,
  LABEL_MANAGED_BY,
  LABEL_NAME,
  MANAGED_BY,
  selectorLabels,
} from './meta.ts';
import type { NetworkPolicy } from './network-policy.ts';

/** The official images, pinned: a new minor version is a decision, not an accident of a pull. */
export const DEDICATED_IMAGES: Record<DatabaseEngine, string> = {
  postgres: 'postgres:17.6',
  mysql: 'mariadb:11.8.3',
};

export const DEDICATED_PORTS: Record<DatabaseEngine, number> = { postgres: 5432, mysql: 3306 };

/** The uid and gid of the `postgres` and `mysql` users of both official images. */
export const DEDICATED_RUN_AS = 999;

export const LABEL_COMPONENT = 'app.kubernetes.io/component';
export const LABEL_PART_OF = 'app.kubernetes.io/part-of';
export const DATABASE_COMPONENT = 'database';
/** The volume claim template's name: claims are `data-<name>-db-0`. */
export const DATA_VOLUME = 'data';

const SOFTWARE: Record<DatabaseEngine, string> = { postgres: 'postgresql', mysql: 'mariadb' };
const CONTAINER: Record<DatabaseEngine, string> = { postgres: 'postgres', mysql: 'mariadb' };
const DATA_PATH: Record<DatabaseEngine, string> = { postgres: '/var/lib/postgresql/data', mysql: '/var/lib/mysql' };

export interface DedicatedDatabase {
  engine: DatabaseEngine;
  /** A quantity, e.g. 1Gi. */
  storage: string;
  reclaimPolicy: 'Retain' | 'Delete';
}

/** The dedicated database a MicroService asks for, with defaults filled in; undefined for none or a shared one. */
export function dedicatedDatabaseOf(ms: MicroService): DedicatedDatabase | undefined {
  const database = ms.spec.database;
  if (database?.instance !== 'dedicated') return undefined;
  if (!database.engine) throw new Error('a dedicated database needs engine: postgres or mysql');
  return {
    engine: database.engine,
    storage: database.storage ?? DEFAULT_DEDICATED_STORAGE,
    reclaimPolicy: database.reclaimPolicy ?? 'Retain',
  };
}

/** The StatefulSet and the Service: `<name>-db`, like the Secret. */
export function dedicatedDatabaseName(name: string): string {
  return `${name}-db`;
}

/** Where the service reaches its dedicated database, the host of its DATABASE_URL: `<name>-db.<namespace>.svc`. */
export function dedicatedDatabaseHost(ms: MicroService, clusterDomain?: string): string {
  const { name, namespace } = identityOf(ms);
  const host = `${dedicatedDatabaseName(name)}.${namespace}.svc`;
  return clusterDomain ? `${host}.${clusterDomain}` : host;
}

/** The labels that select the database's pod. Never the service's own selector labels: its Service must not reach it. */
export function dedicatedDatabaseSelector(name: string): Record<string, string> {
  return { [LABEL_INSTANCE]: dedicatedDatabaseName(name), [LABEL_COMPONENT]: DATABASE_COMPONENT };
}

function podLabels(name: string, engine: DatabaseEngine): Record<string, string> {
  return {
    [LABEL_NAME]: SOFTWARE[engine],
    ...dedicatedDatabaseSelector(name),
    [LABEL_PART_OF]: name,
    [LABEL_MANAGED_BY]: MANAGED_BY,
  };
}

/** The metadata of a dedicated-database child: the service's child labels (for ownership) and the component. */
function databaseChildMeta(ms: MicroService): ChildMeta {
  const meta = childMeta(ms, dedicatedDatabaseName(identityOf(ms).name));
  meta.labels = { ...meta.labels, [LABEL_COMPONENT]: DATABASE_COMPONENT };
  return meta;
}

const fromSecret = (env: string, secret: string, key: string): V1EnvVar => ({
  name: env,
  valueFrom: { secretKeyRef: { name: secret, key } },
});

/** The image's own settings: user, password and database from the Secret `<name>-db`. */
function engineEnv(engine: DatabaseEngine, secret: string): V1EnvVar[] {
  if (engine === 'postgres') {
    return [
      fromSecret('POSTGRES_USER', secret, 'username'),
      fromSecret('POSTGRES_PASSWORD', secret, 'password'),
      fromSecret('POSTGRES_DB', secret, 'database'),
      // A folder inside the volume: its root may hold lost+found, which initdb refuses.
      { name: 'PGDATA', value: `${DATA_PATH.postgres}/pgdata` },
    ];
  }
  return [
    fromSecret('MARIADB_USER', secret, 'username'),
    fromSecret('MARIADB_PASSWORD', secret, 'password'),
    fromSecret('MARIADB_DATABASE', secret, 'database'),
    // Nobody needs root: the service's user owns its database. Its random password is never shown.
    { name: 'MARIADB_RANDOM_ROOT_PASSWORD', value: '1' },
    { name: 'MARIADB_AUTO_UPGRADE', value: '1' },
  ];
}

/** Ready when the server accepts connections: pg_isready, or the image's healthcheck.sh. */
function readinessProbe(engine: DatabaseEngine): V1Probe {
  const command =
    engine === 'postgres'
      ? [
          'sh',
          '-c',
          `exec pg_isready -h 127.0.0.1 -p ${DEDICATED_PORTS.postgres} -U "$POSTGRES_USER" -d "$POSTGRES_DB"`,
        ]
      : ['healthcheck.sh', '--connect', '--innodb_initialized'];
  return { exec: { command }, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 };
}

/** The StatefulSet of one pod running the engine's official image on its own volume. Pure. */
export function buildDedicatedStatefulSet(ms: MicroService): V1StatefulSet | undefined {
  const dedicated = dedicatedDatabaseOf(ms);
  if (!dedicated) return undefined;
  const { engine, storage, reclaimPolicy } = dedicated;
  const { name } = identityOf(ms);
  const port = DEDICATED_PORTS[engine];
  const meta = databaseChildMeta(ms);
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: meta,
    spec: {
      serviceName: dedicatedDatabaseName(name),
      replicas: 1,
      selector: { matchLabels: dedicatedDatabaseSelector(name) },
      // reclaimPolicy Delete: the claim goes with the MicroService (and this StatefulSet); Retain keeps it.
      persistentVolumeClaimRetentionPolicy: { whenDeleted: reclaimPolicy, whenScaled: 'Retain' },
      updateStrategy: { type: 'RollingUpdate' },
      template: {
        metadata: { labels: podLabels(name, engine) },
        spec: {
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          terminationGracePeriodSeconds: 60,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: DEDICATED_RUN_AS,
            runAsGroup: DEDICATED_RUN_AS,
            fsGroup: DEDICATED_RUN_AS,
            fsGroupChangePolicy: 'OnRootMismatch',
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [
            {
              name: CONTAINER[engine],
              image: DEDICATED_IMAGES[engine],
              ports: [{ name: CONTAINER[engine], containerPort: port, protocol: 'TCP' }],
              env: engineEnv(engine, databaseSecretName(name)),
              readinessProbe: readinessProbe(engine),
              livenessProbe: {
                tcpSocket: { port: CONTAINER[engine] },
                initialDelaySeconds: 30,
                periodSeconds: 20,
                timeoutSeconds: 5,
                failureThreshold: 6,
              },
              resources: { requests: { cpu: '100m', memory: '256Mi' } },
              securityContext: {
                allowPrivilegeEscalation: false,
                capabilities: { drop: ['ALL'] },
                // Both images write to /run and /tmp as well as the volume.
                readOnlyRootFilesystem: false,
              },
              volumeMounts: [{ name: DATA_VOLUME, mountPath: DATA_PATH[engine] }],
            },
          ],
        },
      },
      volumeClaimTemplates: [
        {
          apiVersion: 'v1',
          kind: 'PersistentVolumeClaim',
          metadata: { name: DATA_VOLUME, labels: podLabels(name, engine) },
          spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage } } },
        },
      ],
    },
  };
}

/** The headless Service `<name>-db`: the StatefulSet's governing Service and the host of DATABASE_URL. Pure. */
export function buildDedicatedService(ms: MicroService): V1Service | undefined {
  const dedicated = dedicatedDatabaseOf(ms);
  if (!dedicated) return undefined;
  const { name } = identityOf(ms);
  const engine = dedicated.engine;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: databaseChildMeta(ms),
    spec: {
      clusterIP: 'None',
      selector: dedicatedDatabaseSelector(name),
      ports: [
        { name: CONTAINER[engine], port: DEDICATED_PORTS[engine], targetPort: CONTAINER[engine], protocol: 'TCP' },
      ],
    },
  };
}

/** Only the service's own pods may connect to its dedicated database. Pure. */
export function buildDedicatedNetworkPolicy(ms: MicroService): NetworkPolicy | undefined {
  const dedicated = dedicatedDatabaseOf(ms);
  if (!dedicated) return undefined;
  const { name } = identityOf(ms);
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: databaseChildMeta(ms),
    spec: {
      podSelector: { matchLabels: dedicatedDatabaseSelector(name) },
      policyTypes: ['Ingress'],
      ingress: [
        {
          from: [{ podSelector: { matchLabels: selectorLabels(name) } }],
          ports: [{ protocol: 'TCP', port: CONTAINER[dedicated.engine] }],
        },
      ],
    },
  };
}

/** Every child of a dedicated database, in apply order (the Service first: the StatefulSet names it). Pure. */
export function buildDedicatedDatabase(ms: MicroService): (V1Service | V1StatefulSet | NetworkPolicy)[] {
  return [buildDedicatedService(ms), buildDedicatedNetworkPolicy(ms), buildDedicatedStatefulSet(ms)].filter(
    (child) => child !== undefined,
  );
}

/**
 * Where the Secret `<name>-db` of a dedicated database points: host `<name>-db.<namespace>.svc` (or the
 * full name under `clusterDomain`) and the engine's port. Pure.
 */
export function dedicatedDatabaseAddress(
  ms: MicroService,
  clusterDomain: string | undefined = undefined,
): { engine: DatabaseEngine; host: string; port: number } | undefined {
  const dedicated = dedicatedDatabaseOf(ms);
  if (!dedicated) return undefined;
  return {
    engine: dedicated.engine,
    host: dedicatedDatabaseHost(ms, clusterDomain),
    port: DEDICATED_PORTS[dedicated.engine],
  };
}

/** What the StatefulSet of a dedicated database reports, as the facts of DatabaseReady. Pure. */
export function dedicatedDatabaseCondition(
  ms: MicroService,
  observed:
    | { status?: { readyReplicas?: number; observedGeneration?: number }; metadata?: { generation?: number } }
    | undefined,
): { status: 'True' | 'False'; reason: 'Provisioned' | 'InstanceStarting'; message: string } {
  const dedicated = dedicatedDatabaseOf(ms);
  if (!dedicated) throw new Error('not a dedicated database');
  const { name } = identityOf(ms);
  const where = `StatefulSet ${dedicatedDatabaseName(name)} (${DEDICATED_IMAGES[dedicated.engine]})`;
  const ready = (observed?.status?.readyReplicas ?? 0) >= 1;
  if (!ready) {
    return {
      status: 'False',
      reason: 'InstanceStarting',
      message: observed ? `${where} has no ready pod yet` : `${where} is not created yet`,
    };
  }
  return {
    status: 'True',
    reason: 'Provisioned',
    message: `${where} is ready at ${dedicatedDatabaseHost(ms)}:${DEDICATED_PORTS[dedicated.engine]}; credentials in Secret ${databaseSecretName(name)}`,
  };
}
