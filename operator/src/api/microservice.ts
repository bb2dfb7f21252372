// MicroService: one service, described once. The schema below is the single source of the CRD,
// the static types the operator uses and the ajv validator.
import { type Static, Type } from '@sinclair/typebox';
import {
  Conditions,
  DnsLabel,
  DnsSubdomain,
  Duration,
  IntOrString,
  type ObjectMeta,
  ObservedGeneration,
  objectHeader,
  PortNumber,
  StringEnum,
} from './common.ts';
import { Args, Command, ENV_LIST_RULE, EnvFromSource, EnvVar, ExtraContainer, Resources } from './container.ts';
import { DATABASE_ENGINES } from './databaseserver.ts';
import {
  DisruptionBudget,
  Files,
  Lifecycle,
  Observability,
  PodAnnotations,
  PodLabels,
  SCRAPE_ANNOTATIONS,
  Scheduling,
  SecurityContext,
} from './pod.ts';

export const MICROSERVICE_KIND = 'MicroService';
export const MICROSERVICE_PLURAL = 'microservices';

/**
 * The longest MicroService name. Flotilla names children after the service: `<name>-<revision>`
 * Deployments (a 10-character revision hash: 11 more characters), `<name>-preview` and
 * `<name>-canary` Services, the `<name>-db` Secret. Every one of them, and the
 * `app.kubernetes.io/name` label that carries the name, must fit 63 characters: 63 − 11 = 52.
 */
export const MAX_MICROSERVICE_NAME_LENGTH = 52;

/**
 * The longest name of a MicroService with a dedicated database: its StatefulSet `<name>-db` must fit
 * 52 characters, because the StatefulSet controller labels each pod with `<statefulset>-<10-character hash>`.
 */
export const MAX_DEDICATED_DATABASE_SERVICE_NAME_LENGTH = 49;

/** shared: a database on a DatabaseServer; dedicated: a StatefulSet of its own. */
export const DATABASE_INSTANCES = ['shared', 'dedicated'] as const;

const IANA_SVC_NAME_PATTERN = '^[a-z0-9]([a-z0-9-]*[a-z0-9])?$';

const ServicePort = Type.Object(
  {
    name: Type.String({
      description:
        'Name of the port (an IANA service name: at most 15 lowercase letters, digits and dashes, with at least ' +
        'one letter), e.g. http or grpc. Unique within the service.',
      pattern: IANA_SVC_NAME_PATTERN,
      minLength: 1,
      maxLength: 15,
      'x-kubernetes-validations': [
        {
          rule: "self.matches('[a-z]') && !self.contains('--')",
          message: 'a port name must contain at least one letter and no two dashes in a row',
        },
      ],
    }),
    port: PortNumber('The port the Kubernetes Service listens on (1-65535). Unique within the service.'),
    targetPort: Type.Optional(
      PortNumber('The port the container listens on (1-65535). Defaults to port.', { minimum: 1, maximum: 65535 }),
    ),
    protocol: Type.Optional(
      StringEnum(['TCP', 'UDP', 'SCTP'] as const, { description: 'TCP (the default), UDP or SCTP.', default: 'TCP' }),
    ),
  },
  { description: 'A port the service serves on.' },
);

const ProbePort = IntOrString({ description: 'Port number (1-65535) or the name of a port of this service.' });

const Probe = (when: string) =>
  Type.Object(
    {
      httpGet: Type.Optional(
        Type.Object(
          {
            path: Type.Optional(Type.String({ description: 'Path to request, e.g. /healthz.', pattern: '^/' })),
            port: ProbePort,
            scheme: Type.Optional(StringEnum(['HTTP', 'HTTPS'] as const, { description: 'HTTP (default) or HTTPS.' })),
          },
          { description: 'An HTTP GET; a status from 200 to 399 is success.' },
        ),
      ),
      tcpSocket: Type.Optional(
        Type.Object({ port: ProbePort }, { description: 'A TCP connection; success when it opens.' }),
      ),
      grpc: Type.Optional(
        Type.Object(
          {
            port: PortNumber('Port of the gRPC health service.'),
            service: Type.Optional(Type.String({ description: 'Service name sent in the gRPC HealthCheckRequest.' })),
          },
          { description: 'A gRPC health check (grpc.health.v1).' },
        ),
      ),
      exec: Type.Optional(
        Type.Object(
          {
            command: Type.Array(Type.String(), {
              description: 'Command and arguments, run without a shell; exit status 0 is success.',
              minItems: 1,
            }),
          },
          { description: 'A command run in the container.' },
        ),
      ),
      initialDelaySeconds: Type.Optional(
        Type.Integer({ description: 'Seconds after the container starts before the first probe.', minimum: 0 }),
      ),
      periodSeconds: Type.Optional(Type.Integer({ description: 'Seconds between probes (default 10).', minimum: 1 })),
      timeoutSeconds: Type.Optional(
        Type.Integer({ description: 'Seconds after which a probe times out (default 1).', minimum: 1 }),
      ),
      successThreshold: Type.Optional(
        Type.Integer({ description: 'Consecutive successes to count as success (default 1).', minimum: 1 }),
      ),
      failureThreshold: Type.Optional(
        Type.Integer({ description: 'Consecutive failures to count as failure (default 3).', minimum: 1 }),
      ),
    },
    {
      description: `${when} (core/v1 Probe). Exactly one of httpGet, tcpSocket, grpc, exec.`,
      'x-kubernetes-validations': [
        {
          rule: '[has(self.httpGet), has(self.tcpSocket), has(self.grpc), has(self.exec)].filter(x, x).size() == 1',
          message: 'a probe must set exactly one of httpGet, tcpSocket, grpc, exec',
        },
      ],
    },
  );

const Probes = Type.Object(
  {
    readiness: Type.Optional(Probe('When a pod may receive traffic')),
    liveness: Type.Optional(Probe('When a pod is restarted')),
    startup: Type.Optional(Probe('When a pod has started; the other probes wait for it')),
  },
  { description: 'Health probes of the service container.' },
);

const Autoscaling = Type.Object(
  {
    minReplicas: Type.Integer({
      description: 'The fewest pods the autoscaler keeps (default 1).',
      minimum: 1,
      maximum: 1000,
      default: 1,
    }),
    maxReplicas: Type.Integer({ description: 'The most pods the autoscaler may run.', minimum: 1, maximum: 1000 }),
    targetCPUUtilizationPercentage: Type.Optional(
      Type.Integer({
        description: 'Average CPU use, in percent of the CPU request, the autoscaler aims for (default 80).',
        minimum: 1,
        maximum: 1000,
      }),
    ),
    targetMemoryUtilizationPercentage: Type.Optional(
      Type.Integer({
        description: 'Average memory use, in percent of the memory request, the autoscaler aims for.',
        minimum: 1,
        maximum: 1000,
      }),
    ),
  },
  {
    description:
      'A HorizontalPodAutoscaler for the service. While it is set, spec.replicas is ignored and the autoscaler ' +
      'decides the number of pods.',
    'x-kubernetes-validations': [
      { rule: 'self.minReplicas <= self.maxReplicas', message: 'minReplicas must not exceed maxReplicas' },
    ],
  },
);

/** The storage a dedicated database gets when spec.database.storage is unset. */
export const DEFAULT_DEDICATED_STORAGE = '1Gi';

/** `instance`, with the API server's default spelled out, for CEL rules that read old and new objects. */
const INSTANCE = (self: string) => `(has(${self}.instance) ? ${self}.instance : 'shared')`;

/** The default and largest time a migration Job may run, in seconds. */
export const DEFAULT_MIGRATION_TIMEOUT_SECONDS = 600;

const Migration = Type.Object(
  {
    command: Type.Array(Type.String({ minLength: 1, maxLength: 4096 }), {
      minItems: 1,
      maxItems: 64,
      description: 'The command that migrates the schema, run in the new version’s image (the entrypoint is replaced).',
    }),
    args: Type.Optional(
      Type.Array(Type.String({ maxLength: 4096 }), { maxItems: 64, description: 'Arguments to the command.' }),
    ),
    env: Type.Optional(
      Type.Array(
        Type.Object({
          name: Type.String({
            minLength: 1,
            maxLength: 256,
            pattern: '^[-._a-zA-Z][-._a-zA-Z0-9]*$',
            description: 'Variable name.',
          }),
          value: Type.String({ maxLength: 32768, description: 'Its value.' }),
        }),
        {
          maxItems: 64,
          description:
            'Variables for the migration only, after the service’s own env (DATABASE_URL comes from the Secret <name>-db).',
          'x-kubernetes-list-type': 'map',
          'x-kubernetes-list-map-keys': ['name'],
        },
      ),
    ),
    timeoutSeconds: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 86_400,
        default: DEFAULT_MIGRATION_TIMEOUT_SECONDS,
        description: `How long the migration may run before it counts as failed (the Job's activeDeadlineSeconds); default ${DEFAULT_MIGRATION_TIMEOUT_SECONDS}.`,
      }),
    ),
    backoffLimit: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 10,
        default: 0,
        description:
          'How many times a failed migration pod is retried before the migration counts as failed; default 0.',
      }),
    ),
  },
  {
    description:
      'A schema migration that runs once per revision, before any pod of that revision gets traffic: a Job ' +
      '<name>-migrate-<revision> with the new image, this command and DATABASE_URL. The release waits for it; ' +
      'success is recorded in status.database.migratedRevision and never run again for that revision; failure or ' +
      'timeout stops the release (reason MigrationFailed) until the Rollout’s retry or a newer revision.',
  },
);

const Database = Type.Object(
  {
    instance: Type.Optional(
      StringEnum(DATABASE_INSTANCES, {
        description:
          'Where the database lives: shared (the default) creates it on the DatabaseServer named by serverRef; ' +
          'dedicated runs a server of its own for this service, a StatefulSet of the official image of engine ' +
          'with a PersistentVolumeClaim and the Service <name>-db. Cannot change once set.',
        default: 'shared',
      }),
    ),
    serverRef: Type.Optional(
      DnsSubdomain(
        'Name of the DatabaseServer the database is created on; required when instance is shared, not allowed ' +
          'when it is dedicated. Cannot change once set.',
        {
          'x-kubernetes-validations': [
            {
              rule: 'self == oldSelf',
              message:
                'serverRef cannot change once set: the data lives on the old server. Create a new MicroService to move it',
            },
          ],
        },
      ),
    ),
    engine: Type.Optional(
      StringEnum(DATABASE_ENGINES, {
        description:
          'The server a dedicated instance runs: postgres (PostgreSQL) or mysql (MariaDB). Required when instance ' +
          'is dedicated, not allowed when it is shared (the DatabaseServer says). Cannot change once set.',
        maxLength: 16,
        'x-kubernetes-validations': [
          { rule: 'self == oldSelf', message: 'engine cannot change once set: the data is in the old engine’s format' },
        ],
      }),
    ),
    storage: Type.Optional(
      Type.String({
        description:
          `Size of the volume of a dedicated instance, a quantity such as 1Gi, 500Mi or 20Gi (default ${DEFAULT_DEDICATED_STORAGE}). ` +
          'Only with instance dedicated. Cannot change once set: a StatefulSet’s volume claims are fixed.',
        pattern: '^[1-9][0-9]{0,8}(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$',
        maxLength: 16,
      }),
    ),
    name: Type.Optional(
      Type.String({
        description:
          'Name of the database (and of its role) on the server: lowercase letters, digits and underscores. ' +
          'Defaults to <namespace>_<name> (dashes become underscores). Cannot change once set.',
        pattern: '^[a-z_][a-z0-9_]*$',
        minLength: 1,
        maxLength: 63,
      }),
    ),
    migration: Type.Optional(Migration),
    reclaimPolicy: Type.Optional(
      StringEnum(['Retain', 'Delete'] as const, {
        description:
          'What happens to the database and its role when the MicroService is deleted: Retain (the default) keeps ' +
          'them, Delete drops them. For a dedicated instance: whether its PersistentVolumeClaim is kept or deleted.',
        default: 'Retain',
      }),
    ),
  },
  {
    description:
      'A database of its own for the service, on a shared DatabaseServer or on a dedicated instance. Flotilla ' +
      'creates the database and a role that can reach only it, keeps the credentials in the Secret <name>-db (keys ' +
      'DATABASE_URL, host, port, database, username, password) and injects DATABASE_URL into the container.',
    'x-kubernetes-validations': [
      {
        rule: `${INSTANCE('self')} != 'shared' || has(self.serverRef)`,
        message: 'a shared database needs serverRef: the DatabaseServer to create it on (or set instance: dedicated)',
      },
      {
        rule: `${INSTANCE('self')} != 'shared' || (!has(self.engine) && !has(self.storage))`,
        message:
          'engine and storage are for instance: dedicated; a shared database takes its engine from the DatabaseServer',
      },
      {
        rule: `${INSTANCE('self')} != 'dedicated' || has(self.engine)`,
        message: 'a dedicated database needs engine: postgres or mysql',
      },
      {
        rule: `${INSTANCE('self')} != 'dedicated' || !has(self.serverRef)`,
        message: 'a dedicated database runs its own server and takes no serverRef',
      },
      {
        rule: `${INSTANCE('self')} == ${INSTANCE('oldSelf')}`,
        message:
          'instance cannot change once set: the data lives on the old server. Create a new MicroService to move it',
        fieldPath: '.instance',
      },
      {
        rule: 'has(self.storage) == has(oldSelf.storage) && (!has(self.storage) || self.storage == oldSelf.storage)',
        message: 'storage cannot change once set: a StatefulSet’s volume claims are fixed',
        fieldPath: '.storage',
      },
      {
        rule: 'has(self.name) == has(oldSelf.name) && (!has(self.name) || self.name == oldSelf.name)',
        message: 'database name cannot change once set: the data lives in the old database',
        fieldPath: '.name',
      },
    ],
  },
);

const Cache = Type.Object(
  {
    serverRef: DnsSubdomain(
      'Name of the DatabaseServer (engine redis) the cache user is created on. Cannot change once set.',
      {
        'x-kubernetes-validations': [
          {
            rule: 'self == oldSelf',
            message: 'cache serverRef cannot change once set. Remove cache, then add it again with the new server',
          },
        ],
      },
    ),
  },
  {
    description:
      'A Redis cache for the service, on a DatabaseServer of engine redis. Flotilla creates the ACL user ' +
      '<namespace>.<name>, limited to the keys and channels that start with <namespace>:<name>:, with no admin ' +
      'or dangerous commands; keeps the credentials in the Secret <name>-cache (keys REDIS_URL, host, ' +
      'port, username, password, keyPrefix) and injects REDIS_URL and REDIS_KEY_PREFIX into the container. ' +
      'Removing cache or deleting the MicroService deletes the user and its keys.',
  },
);

const Messaging = Type.Object(
  {
    serverRef: DnsSubdomain(
      'Name of the DatabaseServer (engine rabbitmq) the broker user is created on. Cannot change once set.',
      {
        'x-kubernetes-validations': [
          {
            rule: 'self == oldSelf',
            message:
              'messaging serverRef cannot change once set. Remove messaging, then add it again with the new server',
          },
        ],
      },
    ),
    vhost: Type.Optional(
      DnsLabel('The RabbitMQ virtual host; the default is the namespace. Cannot change once set.', {
        'x-kubernetes-validations': [{ rule: 'self == oldSelf', message: 'messaging vhost cannot change once set' }],
      }),
    ),
    publishes: Type.Optional(
      Type.Boolean({
        description:
          'Whether the service publishes events to its exchange <name> (default true). Subscribers bind their ' +
          'queues to that exchange.',
        default: true,
      }),
    ),
    subscribesTo: Type.Optional(
      Type.Array(DnsLabel('Name of a MicroService in the same namespace (and vhost) whose events this one reads.'), {
        description:
          'The services whose exchange (exactly <service>) this one may bind its queues to. Removing one revokes the ' +
          'right and deletes the bindings from that exchange to its queues.',
        maxItems: 64,
        'x-kubernetes-list-type': 'set',
      }),
    ),
    reclaimPolicy: Type.Optional(
      StringEnum(['Retain', 'Delete'] as const, {
        description:
          'What happens to the broker user and its queues and exchanges when the MicroService is deleted or ' +
          'messaging is removed: Retain (the default) keeps them, Delete deletes them.',
        default: 'Retain',
      }),
    ),
    limits: Type.Optional(
      Type.Object(
        {
          maxConnections: Type.Optional(
            Type.Integer({
              description: 'The most AMQP connections the user may hold at once (default 20).',
              minimum: 1,
              maximum: 10000,
              default: 20,
            }),
          ),
          maxChannels: Type.Optional(
            Type.Integer({
              description: 'The most channels the user may have open at once, over all its connections (default 100).',
              minimum: 1,
              maximum: 100000,
              default: 100,
            }),
          ),
        },
        { description: 'Per-user limits RabbitMQ enforces.' },
      ),
    ),
  },
  {
    description:
      'Events for the service, on a DatabaseServer of engine rabbitmq. Flotilla creates the user ' +
      '<namespace>.<name> in the vhost, allowed to declare and use its exchange <name> and anything named ' +
      '<name>.<anything> (its queues), to publish to its exchange when publishes is true, and to bind its ' +
      'queues to the exchanges of subscribesTo; nothing else, and no management access. Credentials in the ' +
      'Secret <name>-mq (keys AMQP_URL, host, port, vhost, username, password); AMQP_URL is injected into ' +
      'the container.',
  },
);

const Retries = Type.Object(
  {
    attempts: Type.Integer({
      description: 'How many times a failed request is retried (0 turns retries off).',
      minimum: 0,
      maximum: 10,
    }),
    perTryTimeout: Type.Optional(Duration('Timeout of each attempt: the first try and each retry.')),
    retryOn: Type.Optional(
      Type.String({
        description:
          'Comma-separated conditions that cause a retry, in Envoy/Istio spelling (5xx, gateway-error, reset, ' +
          'connect-failure, retriable-4xx, refused-stream, or an HTTP status code); default 5xx,reset,connect-failure.',
        pattern: '^[a-z0-9-]+(,[a-z0-9-]+)*$',
        maxLength: 256,
        default: '5xx,reset,connect-failure',
      }),
    ),
  },
  { description: 'Retries of failed requests to this service, done by the mesh or the gateway.' },
);

const CircuitBreaker = Type.Object(
  {
    consecutiveErrors: Type.Integer({
      description: 'Consecutive 5xx errors (or connection failures) after which a pod is ejected.',
      minimum: 1,
      maximum: 1000,
    }),
    interval: Type.Optional(Duration('How often pods are scanned for ejection (default 10s).', { default: '10s' })),
    baseEjectionTime: Type.Optional(
      Duration('How long a pod stays ejected the first time; each further ejection lasts longer (default 30s).', {
        default: '30s',
      }),
    ),
    maxEjectionPercent: Type.Optional(
      Type.Integer({
        description: 'The most pods, in percent, that may be ejected at once (default 10).',
        minimum: 0,
        maximum: 100,
        default: 10,
      }),
    ),
  },
  { description: 'Outlier detection: pods that keep failing are taken out of load balancing for a while.' },
);

const ConnectionPool = Type.Object(
  {
    maxConnections: Type.Optional(
      Type.Integer({ description: 'The most TCP connections to the service.', minimum: 1 }),
    ),
    maxPendingRequests: Type.Optional(
      Type.Integer({ description: 'The most requests waiting for a connection.', minimum: 1 }),
    ),
  },
  { description: 'Limits on connections to the service; requests beyond them fail fast.' },
);

const Traffic = Type.Object(
  {
    timeout: Type.Optional(Duration('Overall timeout of a request to this service, retries included.')),
    retries: Type.Optional(Retries),
    circuitBreaker: Type.Optional(CircuitBreaker),
    connectionPool: Type.Optional(ConnectionPool),
  },
  {
    description:
      'Resilience of calls to this service, compiled into an Istio VirtualService and DestinationRule, or a ' +
      'Gateway API HTTPRoute.',
    'x-kubernetes-validations': [
      {
        rule:
          '!has(self.timeout) || !has(self.retries) || !has(self.retries.perTryTimeout) || ' +
          'duration(self.retries.perTryTimeout).getMilliseconds() * self.retries.attempts <= ' +
          'duration(self.timeout).getMilliseconds()',
        message:
          'retries.attempts × retries.perTryTimeout must not exceed timeout: the timeout would cut the last retries off',
      },
    ],
  },
);

const Expose = Type.Object(
  {
    gateway: Type.String({
      description: 'The gateway that serves the routes, as <namespace>/<name>, e.g. istio-system/public.',
      pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?/[a-z0-9]([-a-z0-9.]*[a-z0-9])?$',
      maxLength: 317,
    }),
    hosts: Type.Array(
      Type.String({
        description: 'A host name, e.g. api.example.com; *.example.com matches any one label.',
        pattern: '^(\\*\\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$',
        maxLength: 253,
      }),
      { description: 'Host names the service answers on.', minItems: 1, maxItems: 16 },
    ),
    pathPrefix: Type.Optional(
      Type.String({
        description: 'Requests whose path starts with this prefix go to the service (default /).',
        pattern: '^/',
        maxLength: 1024,
        default: '/',
      }),
    ),
    port: Type.Optional(
      Type.String({ description: 'Name of the port requests go to; defaults to the first port.', maxLength: 15 }),
    ),
  },
  { description: 'Makes the service reachable from outside the cluster through a gateway.' },
);

/** CEL: the names of the sidecars and init containers of the spec at `spec`, as one list. */
const EXTRA_CONTAINER_NAMES = (spec: string) =>
  `((has(${spec}.sidecars) ? ${spec}.sidecars.map(c, c.name) : []) + (has(${spec}.initContainers) ? ${spec}.initContainers.map(c, c.name) : []))`;

/** CEL: the files lists of the sidecars and init containers of the spec at `spec`, as one list of lists. */
const EXTRA_CONTAINER_FILES = (spec: string) =>
  `((has(${spec}.sidecars) ? ${spec}.sidecars.filter(c, has(c.files)).map(c, c.files) : []) + (has(${spec}.initContainers) ? ${spec}.initContainers.filter(c, has(c.files)).map(c, c.files) : []))`;

export const MicroServiceSpecSchema = Type.Object(
  {
    image: Type.String({
      description: 'The container image, e.g. registry.example.com/shop/orders:1.4.2. Changing it starts a release.',
      minLength: 1,
      maxLength: 1024,
      pattern: '^[^\\s]+$',
    }),
    replicas: Type.Optional(
      Type.Integer({
        description: 'How many pods to run (default 1). Ignored while autoscaling is set. kubectl scale sets it.',
        minimum: 0,
        maximum: 1000,
        default: 1,
      }),
    ),
    ports: Type.Optional(
      Type.Array(ServicePort, {
        description: 'The ports the service serves on; names and port numbers are unique.',
        maxItems: 16,
        'x-kubernetes-validations': [
          { rule: 'self.all(p, self.exists_one(q, q.name == p.name))', message: 'port names must be unique' },
          { rule: 'self.all(p, self.exists_one(q, q.port == p.port))', message: 'port numbers must be unique' },
        ],
      }),
    ),
    env: Type.Optional(
      Type.Array(EnvVar, {
        description: 'Environment variables of the service container (core/v1 EnvVar; valueFrom is allowed).',
        maxItems: 128,
        'x-kubernetes-validations': [ENV_LIST_RULE],
      }),
    ),
    envFrom: Type.Optional(
      Type.Array(EnvFromSource, {
        description: 'ConfigMaps and Secrets whose every key becomes an environment variable of the service container.',
        maxItems: 32,
      }),
    ),
    command: Type.Optional(Command("service container's entry point; default the image's ENTRYPOINT")),
    args: Type.Optional(Args('service container')),
    workingDir: Type.Optional(
      Type.String({
        description: "The service container's working directory, an absolute path; default the image's.",
        pattern: '^/',
        maxLength: 1024,
      }),
    ),
    files: Type.Optional(Files),
    serviceAccountName: Type.Optional(
      DnsSubdomain("The ServiceAccount the pods run as (e.g. for cloud IAM); default the namespace's default."),
    ),
    imagePullSecrets: Type.Optional(
      Type.Array(Type.Object({ name: DnsSubdomain("Name of a Secret of the service's namespace.") }), {
        description: 'Secrets (type kubernetes.io/dockerconfigjson) with the credentials of private registries.',
        maxItems: 16,
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['name'],
      }),
    ),
    podLabels: Type.Optional(PodLabels),
    podAnnotations: Type.Optional(PodAnnotations),
    scheduling: Type.Optional(Scheduling),
    disruptionBudget: Type.Optional(DisruptionBudget),
    lifecycle: Type.Optional(Lifecycle),
    securityContext: Type.Optional(SecurityContext),
    sidecars: Type.Optional(
      Type.Array(ExtraContainer('sidecar'), {
        description:
          'Containers that run beside the service container for the life of the pod (an agent, a proxy), as ' +
          'native sidecars: they start before it and stop after it.',
        maxItems: 8,
      }),
    ),
    initContainers: Type.Optional(
      Type.Array(ExtraContainer('init container'), {
        description: 'Containers run to completion, one after another, before the service container starts.',
        maxItems: 8,
      }),
    ),
    observability: Type.Optional(Observability),
    resources: Type.Optional(Resources),
    probes: Type.Optional(Probes),
    autoscaling: Type.Optional(Autoscaling),
    database: Type.Optional(Database),
    cache: Type.Optional(Cache),
    messaging: Type.Optional(Messaging),
    traffic: Type.Optional(Traffic),
    expose: Type.Optional(Expose),
    restartedAt: Type.Optional(
      Type.String({
        description:
          'Set to the current time to restart every pod (kubectl flotilla restart does): the pod template ' +
          'carries it, so a new value is a new revision, released like an image change (through the ' +
          "service's Rollout when it has one).",
        format: 'date-time',
      }),
    ),
    dependsOn: Type.Optional(
      Type.Array(DnsLabel('Name of a MicroService in the same namespace.'), {
        description:
          'The services this one may call, by MicroService name in the same namespace; the NetworkPolicy allows ' +
          'egress to them and nothing else inside the cluster.',
        maxItems: 64,
        'x-kubernetes-list-type': 'set',
      }),
    ),
  },
  {
    description: 'What the service is: its image, ports, resources, database, resilience and exposure.',
    'x-kubernetes-validations': [
      {
        rule: '!has(oldSelf.database) || has(self.database)',
        message: 'database cannot be removed once set; delete the MicroService instead (reclaimPolicy applies)',
      },
      {
        rule: '!has(self.expose) || (has(self.ports) && self.ports.size() > 0)',
        message: 'expose needs at least one port in ports',
      },
      {
        rule: '!has(self.expose) || !has(self.expose.port) || (has(self.ports) && self.ports.exists(p, p.name == self.expose.port))',
        message: 'expose.port must name one of ports',
      },
      {
        rule: `${EXTRA_CONTAINER_FILES('self')}.all(l, l.all(p, has(self.files) && self.files.exists(f, f.path == p)))`,
        message: 'the files of a sidecar or init container must each be the path of an entry of spec.files',
      },
      {
        rule: `${EXTRA_CONTAINER_NAMES('self')}.all(n, ${EXTRA_CONTAINER_NAMES('self')}.filter(m, m == n).size() == 1)`,
        message: 'the names of sidecars and init containers must be unique',
      },
      {
        rule: `!has(self.podAnnotations) || !((has(self.observability) && has(self.observability.metrics)) || (has(self.ports) && self.ports.exists(p, p.name == 'metrics'))) || !self.podAnnotations.exists(k, k in [${SCRAPE_ANNOTATIONS.map((a) => `'${a}'`).join(', ')}])`,
        message: `podAnnotations must not set ${SCRAPE_ANNOTATIONS.join(', ')} when a port is named metrics or observability.metrics is set: Flotilla sets them`,
      },
    ],
  },
);

const DatabaseStatus = Type.Object(
  {
    serverRef: Type.Optional(Type.String({ description: 'The DatabaseServer the database lives on.' })),
    name: Type.Optional(Type.String({ description: 'Name of the database and of its role on the server.' })),
    secretName: Type.Optional(Type.String({ description: 'The Secret holding the credentials, <name>-db.' })),
    migratedRevision: Type.Optional(
      Type.String({ description: 'The last revision whose schema migration (spec.database.migration) succeeded.' }),
    ),
  },
  { description: 'The database Flotilla provisioned.' },
);

const CacheStatus = Type.Object(
  {
    serverRef: Type.Optional(Type.String({ description: 'The DatabaseServer (redis) the cache user lives on.' })),
    username: Type.Optional(Type.String({ description: 'The ACL user, <namespace>.<name>.' })),
    keyPrefix: Type.Optional(Type.String({ description: 'The prefix of every key and channel the user may reach.' })),
    secretName: Type.Optional(Type.String({ description: 'The Secret holding the credentials, <name>-cache.' })),
  },
  { description: 'The cache Flotilla provisioned.' },
);

const MessagingStatus = Type.Object(
  {
    serverRef: Type.Optional(Type.String({ description: 'The DatabaseServer (rabbitmq) the broker user lives on.' })),
    vhost: Type.Optional(Type.String({ description: 'The virtual host.' })),
    username: Type.Optional(Type.String({ description: 'The broker user, <namespace>.<name>.' })),
    exchange: Type.Optional(Type.String({ description: 'The exchange the service publishes to, <name>.' })),
    secretName: Type.Optional(Type.String({ description: 'The Secret holding the credentials, <name>-mq.' })),
    reclaimPolicy: Type.Optional(
      Type.String({ description: 'The reclaimPolicy in force, applied also when spec.messaging is removed.' }),
    ),
  },
  { description: 'The broker user Flotilla provisioned.' },
);

export const MicroServiceStatusSchema = Type.Object(
  {
    observedGeneration: Type.Optional(ObservedGeneration),
    conditions: Type.Optional(
      Conditions(
        'Ready, Progressing, Degraded, DatabaseReady, CacheReady, MessagingReady and RoutesReady, as metav1.Conditions.',
      ),
    ),
    replicas: Type.Optional(Type.Integer({ description: 'Pods of the service, all revisions.', minimum: 0 })),
    readyReplicas: Type.Optional(Type.Integer({ description: 'Pods that are ready.', minimum: 0 })),
    currentRevision: Type.Optional(Type.String({ description: 'Hash of the revision that serves all traffic.' })),
    url: Type.Optional(Type.String({ description: 'Where the service is reached from outside, when exposed.' })),
    selector: Type.Optional(
      Type.String({ description: 'Label selector of the pods, for the scale subresource and autoscalers.' }),
    ),
    database: Type.Optional(DatabaseStatus),
    cache: Type.Optional(CacheStatus),
    messaging: Type.Optional(MessagingStatus),
  },
  { description: 'What the controller observed.' },
);

export const MicroServiceSchema = Type.Object(
  {
    ...objectHeader(),
    // Declared only so that the name rules below can report at metadata.name.
    metadata: Type.Unsafe<ObjectMeta>({ type: 'object', properties: { name: { type: 'string' } } }),
    spec: MicroServiceSpecSchema,
    status: Type.Optional(MicroServiceStatusSchema),
  },
  {
    description:
      'A microservice: Flotilla turns it into a Deployment, a Service, an autoscaler, mesh or gateway routes, a ' +
      'NetworkPolicy and a database, and releases new versions through its Rollout.',
    'x-kubernetes-validations': [
      {
        rule: `self.metadata.name.size() <= ${MAX_MICROSERVICE_NAME_LENGTH}`,
        message:
          `metadata.name must be at most ${MAX_MICROSERVICE_NAME_LENGTH} characters: Flotilla names children ` +
          '<name>-<10-character revision hash>, and those names must fit 63 characters',
        fieldPath: '.metadata.name',
      },
      {
        rule: "self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')",
        message:
          'metadata.name must start with a letter and hold only lowercase letters, digits and dashes (a DNS-1035 label), as a Service name must',
        fieldPath: '.metadata.name',
      },
      {
        rule:
          "!has(self.spec.database) || !has(self.spec.database.instance) || self.spec.database.instance != 'dedicated' || " +
          `self.metadata.name.size() <= ${MAX_DEDICATED_DATABASE_SERVICE_NAME_LENGTH}`,
        message:
          `metadata.name must be at most ${MAX_DEDICATED_DATABASE_SERVICE_NAME_LENGTH} characters with a dedicated ` +
          'database: its StatefulSet <name>-db must fit the 52 characters Kubernetes allows a StatefulSet',
        fieldPath: '.metadata.name',
      },
      {
        rule: `${EXTRA_CONTAINER_NAMES('self.spec')}.all(n, n != self.metadata.name)`,
        message: 'a sidecar or init container may not take the service’s own name: the service container has it',
        fieldPath: '.spec',
      },
      {
        rule: '!has(self.spec.dependsOn) || !self.spec.dependsOn.exists(d, d == self.metadata.name)',
        message: 'spec.dependsOn must not name the service itself',
        fieldPath: '.spec.dependsOn',
      },
      {
        rule:
          '!has(self.spec.messaging) || !has(self.spec.messaging.subscribesTo) || ' +
          '!self.spec.messaging.subscribesTo.exists(d, d == self.metadata.name)',
        message: 'spec.messaging.subscribesTo must not name the service itself',
        fieldPath: '.spec.messaging.subscribesTo',
      },
    ],
  },
);

export type MicroServiceSpec = Static<typeof MicroServiceSpecSchema>;
export type MicroServiceStatus = Static<typeof MicroServiceStatusSchema>;
export type MicroService = Static<typeof MicroServiceSchema>;
export type DatabaseSpec = Static<typeof Database>;
export type CacheSpec = Static<typeof Cache>;
export type MessagingSpec = Static<typeof Messaging>;
export type DatabaseInstance = (typeof DATABASE_INSTANCES)[number];
