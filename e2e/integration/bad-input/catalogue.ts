// The bad-input catalogue: manifests the API server must refuse, each with (a substring of) the
// message it must answer with. Every manifest is a valid object with one thing wrong.
import { API_VERSION } from '../../../operator/src/api/index.ts';

export const BAD_INPUT_NAMESPACE = 'api-bad-input';

type Json = Record<string, unknown>;

export interface BadCreate {
  /** What is wrong, in words. */
  name: string;
  manifest: Json;
  /** A substring of the API server's answer. */
  message: string;
}

export interface BadUpdate {
  name: string;
  /** Created first; must be accepted. */
  original: Json;
  /** Then this JSON merge patch must be refused... */
  patch: Json;
  message: string;
}

export interface GoodUpdate {
  name: string;
  original: Json;
  /** ...while these JSON merge patches, one after the other, must be accepted. */
  patches: Json[];
}

const namespace = BAD_INPUT_NAMESPACE;

export function microService(name: string, spec: Json = {}): Json {
  return {
    apiVersion: API_VERSION,
    kind: 'MicroService',
    metadata: { name, namespace },
    spec: { image: 'registry.example.com/shop/orders:1.4.2', ports: [{ name: 'http', port: 8080 }], ...spec },
  };
}

export function rollout(name: string, spec: Json = {}): Json {
  return {
    apiVersion: API_VERSION,
    kind: 'Rollout',
    metadata: { name, namespace },
    spec: { serviceRef: { name: 'orders' }, strategy: { canary: { steps: [{ setWeight: 10 }] } }, ...spec },
  };
}

export function analysisTemplate(name: string, spec: Json = {}): Json {
  return {
    apiVersion: API_VERSION,
    kind: 'AnalysisTemplate',
    metadata: { name, namespace },
    spec: { metrics: [goodMetric()], ...spec },
  };
}

export function goodMetric(fields: Json = {}): Json {
  return {
    name: 'success-rate',
    interval: '5s',
    successCondition: 'result >= 0.99',
    provider: { prometheus: { address: 'http://127.0.0.1:9090', query: 'vector(1)' } },
    ...fields,
  };
}

const metricWith = (fields: Json): Json => ({ metrics: [goodMetric(fields)] });

/** AnalysisTemplates the API server refuses: [what, name, spec, message]. */
export const badAnalysisTemplates: [string, string, Json, string][] = [
  [
    'an unknown provider',
    'at-provider-datadog',
    metricWith({ provider: { datadog: { query: 'avg:errors' } } }),
    'unknown field "spec.metrics[0].provider.datadog"',
  ],
  [
    'two providers',
    'at-provider-two',
    metricWith({ provider: { prometheus: { address: 'http://p:9090', query: 'up' }, web: { url: 'http://x/' } } }),
    'provider must be exactly one of prometheus, web',
  ],
  [
    'no condition at all',
    'at-no-condition',
    metricWith({ successCondition: undefined }),
    'a metric needs successCondition, failureCondition or thresholdRange',
  ],
  [
    'thresholdRange beside a successCondition',
    'at-range-and-condition',
    metricWith({ thresholdRange: { max: 1 } }),
    'thresholdRange replaces successCondition and failureCondition',
  ],
  [
    'a negative count',
    'at-count-negative',
    metricWith({ count: -1 }),
    'count in body should be greater than or equal to 1',
  ],
  [
    'a condition that does not test result',
    'at-condition-no-result',
    metricWith({ successCondition: 'value > 1' }),
    'a condition must test result',
  ],
  [
    'a condition with unbalanced parentheses',
    'at-condition-parens',
    metricWith({ successCondition: '(result > 1' }),
    'unbalanced parentheses or brackets',
  ],
  ['an unknown noData policy', 'at-nodata', metricWith({ noData: 'Ignore' }), 'Unsupported value: "Ignore"'],
  [
    'a thresholdRange with min above max',
    'at-range-inverted',
    { metrics: [goodMetric({ successCondition: undefined, thresholdRange: { min: 2, max: 1 } })] },
    'thresholdRange min must not exceed max',
  ],
  [
    'an interval of "5 seconds"',
    'at-interval-words',
    metricWith({ interval: '5 seconds' }),
    'interval in body should match',
  ],
];

export function databaseServer(name: string, spec: Json = {}): Json {
  return {
    apiVersion: API_VERSION,
    kind: 'DatabaseServer',
    metadata: { name },
    spec: {
      engine: 'postgres',
      host: 'postgres.databases.svc',
      port: 5432,
      adminSecretRef: { namespace: 'flotilla-system', name: 'postgres-admin' },
      ...spec,
    },
  };
}

const traffic = (traffic: Json) => ({ traffic });
const canary = (canary: Json) => ({ strategy: { canary } });

const badMicroServices: [string, string, Json, string][] = [
  // [what, object name, spec fields, message]
  ['no image', 'ms-no-image', { image: undefined }, 'spec.image: Required value'],
  ['an empty image', 'ms-empty-image', { image: '' }, 'spec.image in body should be at least 1 chars long'],
  ['an image with a space', 'ms-image-space', { image: 'orders 1.4' }, 'spec.image in body should match'],
  ['negative replicas', 'ms-negative-replicas', { replicas: -1 }, 'should be greater than or equal to 0'],
  ['port 0', 'ms-port-zero', { ports: [{ name: 'http', port: 0 }] }, 'should be greater than or equal to 1'],
  ['port 70000', 'ms-port-big', { ports: [{ name: 'http', port: 70000 }] }, 'should be less than or equal to 65535'],
  [
    'two ports named alike',
    'ms-dup-port-name',
    {
      ports: [
        { name: 'http', port: 8080 },
        { name: 'http', port: 9090 },
      ],
    },
    'port names must be unique',
  ],
  [
    'two ports with one number',
    'ms-dup-port-number',
    {
      ports: [
        { name: 'http', port: 8080 },
        { name: 'admin', port: 8080 },
      ],
    },
    'port numbers must be unique',
  ],
  [
    'an upper-case port name',
    'ms-port-name-upper',
    { ports: [{ name: 'HTTP', port: 8080 }] },
    'spec.ports[0].name in body should match',
  ],
  [
    'a port name of digits only',
    'ms-port-name-digits',
    { ports: [{ name: '8080', port: 8080 }] },
    'a port name must contain at least one letter',
  ],
  [
    'a port name over 15 characters',
    'ms-port-name-long',
    { ports: [{ name: 'http-metrics-admin', port: 8080 }] },
    'may not be more than 15',
  ],
  [
    'an env var with value and valueFrom',
    'ms-env-both',
    { env: [{ name: 'A', value: 'x', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }] },
    'an environment variable takes either value or valueFrom, not both',
  ],
  [
    'an env var reading two sources',
    'ms-env-two-sources',
    {
      env: [
        {
          name: 'A',
          valueFrom: { secretKeyRef: { name: 's', key: 'k' }, configMapKeyRef: { name: 'c', key: 'k' } },
        },
      ],
    },
    'valueFrom must set exactly one of secretKeyRef, configMapKeyRef, fieldRef, resourceFieldRef',
  ],
  [
    'two env vars named alike',
    'ms-env-dup',
    {
      env: [
        { name: 'A', value: '1' },
        { name: 'A', value: '2' },
      ],
    },
    'environment variable names must be unique',
  ],
  [
    'a resource quantity that is not one',
    'ms-quantity',
    { resources: { requests: { cpu: 'lots' } } },
    'spec.resources.requests.cpu in body should match',
  ],
  [
    'a probe with two handlers',
    'ms-probe-two',
    { probes: { readiness: { httpGet: { port: 8080 }, tcpSocket: { port: 8080 } } } },
    'a probe must set exactly one of httpGet, tcpSocket, grpc, exec',
  ],
  [
    'minReplicas above maxReplicas',
    'ms-autoscaling-range',
    { autoscaling: { minReplicas: 5, maxReplicas: 2 } },
    'minReplicas must not exceed maxReplicas',
  ],
  [
    'maxReplicas 0',
    'ms-autoscaling-zero',
    { autoscaling: { maxReplicas: 0 } },
    'spec.autoscaling.maxReplicas in body should be greater than or equal to 1',
  ],
  ['a timeout without unit', 'ms-timeout-unit', traffic({ timeout: '2' }), 'spec.traffic.timeout in body should match'],
  [
    'a timeout too long for a duration',
    'ms-timeout-huge',
    traffic({ timeout: '99999999999h' }),
    'spec.traffic.timeout in body should match',
  ],
  [
    'a perTryTimeout in words',
    'ms-pertry-words',
    traffic({ retries: { attempts: 2, perTryTimeout: 'fast' } }),
    'spec.traffic.retries.perTryTimeout in body should match',
  ],
  [
    'retries that outlast the timeout',
    'ms-retries-timeout',
    traffic({ timeout: '1s', retries: { attempts: 3, perTryTimeout: '500ms' } }),
    'retries.attempts × retries.perTryTimeout must not exceed timeout',
  ],
  [
    'retries measured in hours against a timeout in minutes',
    'ms-retries-units',
    traffic({ timeout: '90m', retries: { attempts: 1, perTryTimeout: '1h30m1s' } }),
    'retries.attempts × retries.perTryTimeout must not exceed timeout',
  ],
  [
    'eleven retry attempts',
    'ms-retries-many',
    traffic({ retries: { attempts: 11 } }),
    'spec.traffic.retries.attempts in body should be less than or equal to 10',
  ],
  [
    'retryOn with spaces',
    'ms-retryon-space',
    traffic({ retries: { attempts: 2, retryOn: '5xx, reset' } }),
    'spec.traffic.retries.retryOn in body should match',
  ],
  [
    'a circuit breaker ejecting 150%',
    'ms-ejection',
    traffic({ circuitBreaker: { consecutiveErrors: 5, maxEjectionPercent: 150 } }),
    'spec.traffic.circuitBreaker.maxEjectionPercent in body should be less than or equal to 100',
  ],
  [
    'an unknown reclaim policy',
    'ms-reclaim',
    { database: { serverRef: 'postgres-main', reclaimPolicy: 'Keep' } },
    'spec.database.reclaimPolicy: Unsupported value: "Keep"',
  ],
  [
    'a database name with a dash',
    'ms-db-name',
    { database: { serverRef: 'postgres-main', name: 'shop-orders' } },
    'spec.database.name in body should match',
  ],
  [
    'a shared database without serverRef',
    'ms-db-no-server',
    { database: { reclaimPolicy: 'Delete' } },
    'a shared database needs serverRef',
  ],
  [
    'a shared database naming an engine',
    'ms-db-shared-engine',
    { database: { serverRef: 'postgres-main', engine: 'postgres' } },
    'engine and storage are for instance: dedicated',
  ],
  [
    'a shared database with storage',
    'ms-db-shared-storage',
    { database: { instance: 'shared', serverRef: 'postgres-main', storage: '5Gi' } },
    'engine and storage are for instance: dedicated',
  ],
  [
    'a dedicated database without engine',
    'ms-db-dedicated-no-engine',
    { database: { instance: 'dedicated' } },
    'a dedicated database needs engine: postgres or mysql',
  ],
  [
    'a dedicated database with a serverRef',
    'ms-db-dedicated-server',
    { database: { instance: 'dedicated', engine: 'postgres', serverRef: 'postgres-main' } },
    'a dedicated database runs its own server and takes no serverRef',
  ],
  [
    'a dedicated redis database',
    'ms-db-dedicated-redis',
    { database: { instance: 'dedicated', engine: 'redis' } },
    'spec.database.engine: Unsupported value: "redis"',
  ],
  [
    'an unknown database instance',
    'ms-db-instance',
    { database: { instance: 'private', serverRef: 'postgres-main' } },
    'spec.database.instance: Unsupported value: "private"',
  ],
  [
    'dedicated storage in words',
    'ms-db-storage-words',
    { database: { instance: 'dedicated', engine: 'mysql', storage: 'a lot' } },
    'spec.database.storage in body should match',
  ],
  [
    'dedicated storage of 0',
    'ms-db-storage-zero',
    { database: { instance: 'dedicated', engine: 'mysql', storage: '0Gi' } },
    'spec.database.storage in body should match',
  ],
  ['a cache without serverRef', 'ms-cache-no-server', { cache: {} }, 'spec.cache.serverRef: Required value'],
  [
    'a cache on a server name with a space',
    'ms-cache-server-space',
    { cache: { serverRef: 'redis main' } },
    'spec.cache.serverRef in body should match',
  ],
  [
    'a dependency on itself',
    'ms-self-dep',
    { dependsOn: ['payments', 'ms-self-dep'] },
    'spec.dependsOn must not name the service itself',
  ],
  ['an upper-case dependency', 'ms-dep-upper', { dependsOn: ['Payments'] }, 'spec.dependsOn[0] in body should match'],
  ['a dependency listed twice', 'ms-dep-twice', { dependsOn: ['payments', 'payments'] }, 'Duplicate value: "payments"'],
  [
    'expose without ports',
    'ms-expose-noports',
    { ports: undefined, expose: { gateway: 'istio-system/public', hosts: ['api.example.com'] } },
    'expose needs at least one port in ports',
  ],
  [
    'expose naming an unknown port',
    'ms-expose-port',
    { expose: { gateway: 'istio-system/public', hosts: ['api.example.com'], port: 'grpc' } },
    'expose.port must name one of ports',
  ],
  [
    'expose with no hosts',
    'ms-expose-nohosts',
    { expose: { gateway: 'istio-system/public', hosts: [] } },
    'spec.expose.hosts in body should have at least 1 items',
  ],
  [
    'a gateway without its namespace',
    'ms-expose-gateway',
    { expose: { gateway: 'public', hosts: ['api.example.com'] } },
    'spec.expose.gateway in body should match',
  ],
  [
    'a path prefix without leading slash',
    'ms-expose-path',
    { expose: { gateway: 'istio-system/public', hosts: ['api.example.com'], pathPrefix: 'orders' } },
    'spec.expose.pathPrefix in body should match',
  ],
  // The pod surface (issue 15): each refused with a message that says what and why.
  [
    'a files entry with both a ConfigMap and a Secret',
    'ms-file-both',
    { files: [{ path: '/etc/orders', configMap: 'a', secret: 'b' }] },
    'a files entry sets exactly one of configMap, secret',
  ],
  [
    'two files on one path',
    'ms-file-same-path',
    {
      files: [
        { path: '/etc/orders', configMap: 'a' },
        { path: '/etc/orders', secret: 'b' },
      ],
    },
    'files paths must be unique: no two on one path',
  ],
  [
    'a relative files path',
    'ms-file-relative',
    { files: [{ path: 'etc/orders', configMap: 'a' }] },
    'spec.files[0].path in body should match',
  ],
  [
    'a files path with ..',
    'ms-file-dotdot',
    { files: [{ path: '/etc/../root', configMap: 'a' }] },
    'a files path must not contain a .. segment',
  ],
  [
    'an envFrom entry with no source',
    'ms-envfrom-empty',
    { envFrom: [{ prefix: 'A_' }] },
    'an envFrom entry sets exactly one of configMapRef, secretRef',
  ],
  [
    'a pod label Flotilla sets',
    'ms-podlabel-reserved',
    { podLabels: { 'app.kubernetes.io/name': 'other' } },
    'podLabels must not set app.kubernetes.io/name, app.kubernetes.io/instance, app.kubernetes.io/managed-by, flotilla.dev/*: Flotilla sets them',
  ],
  [
    'a flotilla.dev pod annotation',
    'ms-podannotation-reserved',
    { podAnnotations: { 'flotilla.dev/config-hash': 'x' } },
    'podAnnotations must not set flotilla.dev/*',
  ],
  [
    'a toleration with operator Exists and a value',
    'ms-toleration-exists-value',
    { scheduling: { tolerations: [{ key: 'a', operator: 'Exists', value: 'b' }] } },
    'a toleration with operator Exists takes no value',
  ],
  [
    'a disruption budget with both limits',
    'ms-pdb-both',
    { disruptionBudget: { minAvailable: 1, maxUnavailable: 1 } },
    'disruptionBudget sets exactly one of minAvailable, maxUnavailable',
  ],
  [
    'a preStop sleep as long as the grace period',
    'ms-prestop-long',
    { lifecycle: { terminationGracePeriodSeconds: 10, preStopSleepSeconds: 10 } },
    'preStopSleepSeconds must be shorter than terminationGracePeriodSeconds',
  ],
  [
    'runAsUser 0',
    'ms-run-as-root',
    { securityContext: { runAsUser: 0 } },
    'runAsUser 0 (root) breaks the restricted Pod Security Standard (rule "Running as Non-root user")',
  ],
  [
    'privilege escalation',
    'ms-privilege-escalation',
    { securityContext: { allowPrivilegeEscalation: true } },
    'breaks the restricted Pod Security Standard (rule "Privilege Escalation")',
  ],
  [
    'a sidecar mounting a path that is not in files',
    'ms-sidecar-unknown-file',
    { sidecars: [{ name: 'agent', image: 'agent:1', files: ['/etc/missing'] }] },
    'the files of a sidecar or init container must each be the path of an entry of spec.files',
  ],
  [
    'a sidecar and an init container of one name',
    'ms-extra-same-name',
    { sidecars: [{ name: 'agent', image: 'agent:1' }], initContainers: [{ name: 'agent', image: 'agent:1' }] },
    'the names of sidecars and init containers must be unique',
  ],
  [
    'a sidecar named after the service',
    'ms-sidecar-own-name',
    { sidecars: [{ name: 'ms-sidecar-own-name', image: 'agent:1' }] },
    'a sidecar or init container may not take the service’s own name',
  ],
  [
    'tracing above 100 percent',
    'ms-tracing-too-much',
    { observability: { tracing: { sampling: 150 } } },
    'should be less than or equal to 100',
  ],
];

const badRollouts: [string, string, Json, string][] = [
  ['no serviceRef', 'ro-no-ref', { serviceRef: undefined }, 'spec.serviceRef: Required value'],
  [
    'no strategy at all',
    'ro-no-strategy',
    { strategy: {} },
    'strategy must set exactly one of canary, blueGreen, rolling',
  ],
  [
    'two strategies',
    'ro-two-strategies',
    { strategy: { canary: { steps: [{ setWeight: 10 }] }, blueGreen: {} } },
    'strategy must set exactly one of canary, blueGreen, rolling',
  ],
  [
    'a canary without steps',
    'ro-no-steps',
    canary({ steps: [] }),
    'spec.strategy.canary.steps in body should have at least 1 items',
  ],
  [
    'a weight of 150',
    'ro-weight-150',
    canary({ steps: [{ setWeight: 150 }] }),
    'spec.strategy.canary.steps[0].setWeight in body should be less than or equal to 100',
  ],
  [
    'a negative weight',
    'ro-weight-negative',
    canary({ steps: [{ setWeight: -5 }] }),
    'spec.strategy.canary.steps[0].setWeight in body should be greater than or equal to 0',
  ],
  [
    'a step that both sets a weight and pauses',
    'ro-step-both',
    canary({ steps: [{ setWeight: 10, pause: {} }] }),
    'each canary step is exactly one of setWeight, pause or analysis',
  ],
  [
    'an empty step',
    'ro-step-empty',
    canary({ steps: [{}] }),
    'each canary step is exactly one of setWeight, pause or analysis',
  ],
  [
    'a pause of "2 minutes"',
    'ro-pause-words',
    canary({ steps: [{ pause: { duration: '2 minutes' } }] }),
    'spec.strategy.canary.steps[0].pause.duration in body should match',
  ],
  [
    'an unknown traffic router',
    'ro-router',
    canary({ steps: [{ setWeight: 10 }], trafficRouting: 'linkerd' }),
    'spec.strategy.canary.trafficRouting: Unsupported value: "linkerd"',
  ],
  ['promote: now', 'ro-promote-now', { promote: 'now' }, 'spec.promote: Unsupported value: "now"'],
  [
    'promote and abort at once',
    'ro-promote-abort',
    { promote: 'full', abort: true },
    'promote and abort cannot be requested together',
  ],
  [
    'a maxSurge of "25" (no %)',
    'ro-surge',
    { strategy: { rolling: { maxSurge: '25' } } },
    'must be a non-negative number of pods or a percentage such as 25%',
  ],
  [
    'maxSurge and maxUnavailable both 0',
    'ro-rolling-stuck',
    { strategy: { rolling: { maxSurge: 0, maxUnavailable: '0%' } } },
    'maxSurge and maxUnavailable must not both be 0',
  ],
];

const badDatabaseServers: [string, string, Json, string][] = [
  ['engine oracle', 'bad-input-oracle', { engine: 'oracle' }, 'spec.engine: Unsupported value: "oracle"'],
  ['engine memcached', 'bad-input-memcached', { engine: 'memcached' }, 'spec.engine: Unsupported value: "memcached"'],
  ['port 0', 'bad-input-port-zero', { port: 0 }, 'spec.port in body should be greater than or equal to 1'],
  ['port 70000', 'bad-input-port-big', { port: 70000 }, 'spec.port in body should be less than or equal to 65535'],
  ['no admin Secret', 'bad-input-no-secret', { adminSecretRef: undefined }, 'spec.adminSecretRef: Required value'],
  ['a host with a space', 'bad-input-host', { host: 'db host' }, 'spec.host in body should match'],
];

// --- tenancy: what a DatabaseServer's allowedNamespaces and adoption refuse at admission ---
const badTenancyServers: [string, string, Json, string][] = [
  [
    'allowedNamespaces from Selector without a selector',
    'bad-input-selector-missing',
    { allowedNamespaces: { from: 'Selector' } },
    'selector is required with from: Selector, and allowed only then',
  ],
  [
    'a selector beside from: All (it would be ignored)',
    'bad-input-selector-all',
    { allowedNamespaces: { from: 'All', selector: { matchLabels: { team: 'shop' } } } },
    'selector is required with from: Selector, and allowed only then',
  ],
  [
    'allowedNamespaces from Other',
    'bad-input-from-other',
    { allowedNamespaces: { from: 'Other' } },
    'spec.allowedNamespaces.from: Unsupported value: "Other"',
  ],
  [
    'a selector expression In without values',
    'bad-input-in-no-values',
    {
      allowedNamespaces: { from: 'Selector', selector: { matchExpressions: [{ key: 'team', operator: 'In' }] } },
    },
    'In and NotIn need values; Exists and DoesNotExist take none',
  ],
  [
    'adoption allowed without the namespaces that may adopt',
    'bad-input-adopt-anyone',
    { adoption: { allowed: true } },
    'adoption.allowed: true needs the namespaces that may adopt',
  ],
  [
    'adoption allowed for an invalid namespace',
    'bad-input-adopt-bad-ns',
    { adoption: { allowed: true, namespaces: ['Shop_Legacy'] } },
    'spec.adoption.namespaces[0] in body should match',
  ],
];

/**
 * A hostile tenant on a shared server, refused by the operator (admission cannot know what exists on the
 * server): e2e/integration/microservice-tenancy.test.ts runs each on the real PostgreSQL, MariaDB and Redis,
 * and checks the condition, that no `<name>-db` (`<name>-cache`) Secret exists, and that what was on the
 * server is exactly as it was.
 */
export interface TenancyCase {
  /** What the tenant tries, in words. */
  name: string;
  engine: 'postgres' | 'mysql' | 'redis';
  /** allowedNamespaces / adoption of the DatabaseServer it names. */
  serverSpec?: Json;
  /** Where the MicroService is: a namespace of its own, the adopting one the server lists, or the admin Secret's. */
  tenant: 'other' | 'adopter' | 'admin';
  /** A database and role (Redis: ACL user) of the service's name made by hand on the server, holding data. */
  handMade: boolean;
  /** spec.database.name, when the case names one; `<admin>` stands for the server's admin user. */
  databaseName?: string;
  condition: 'DatabaseReady' | 'CacheReady';
  status: 'True' | 'False';
  reason: string;
  /** A substring of the condition's message. */
  message: string;
}

/** A tenant in a namespace of its own, refused: the fields every such case shares. */
function refused(
  engine: TenancyCase['engine'],
  name: string,
  reason: string,
  message: string,
  extra: Partial<TenancyCase> = {},
): TenancyCase {
  const condition = engine === 'redis' ? 'CacheReady' : 'DatabaseReady';
  return { name, engine, tenant: 'other', handMade: false, condition, status: 'False', reason, message, ...extra };
}

const NOT_FLOTILLAS = 'was not created by Flotilla';
const ADOPTER_ONLY = { adoption: { allowed: true, namespaces: ['<adopter>'] } };
const SELECTED_ONLY = { allowedNamespaces: { from: 'Selector', selector: { matchLabels: { '<label>': 'yes' } } } };

export const TENANCY_CASES: TenancyCase[] = [
  ...(['postgres', 'mysql'] as const).flatMap((engine): TenancyCase[] => [
    refused(
      engine,
      `naming a database made by hand on ${engine}, from another namespace`,
      'NameConflict',
      NOT_FLOTILLAS,
      {
        handMade: true,
      },
    ),
    refused(
      engine,
      `naming a database made by hand on ${engine}, from a namespace adoption does not list`,
      'NameConflict',
      NOT_FLOTILLAS,
      { handMade: true, serverSpec: ADOPTER_ONLY },
    ),
    {
      name: `adopting a database made by hand on ${engine}, from the namespace adoption lists`,
      engine,
      serverSpec: ADOPTER_ONLY,
      tenant: 'adopter',
      handMade: true,
      condition: 'DatabaseReady',
      status: 'True',
      reason: 'Provisioned',
      message: 'credentials in Secret',
    },
    refused(
      engine,
      `asking ${engine} for a database from a namespace allowedNamespaces does not select`,
      'NamespaceNotAllowed',
      'does not match',
      { serverSpec: SELECTED_ONLY },
    ),
    refused(
      engine,
      `asking ${engine} (from: Same) for a database from a namespace other than the admin Secret's`,
      'NamespaceNotAllowed',
      'allowedNamespaces.from: Same',
      { serverSpec: { allowedNamespaces: { from: 'Same' } } },
    ),
    refused(engine, `naming the admin user's database on ${engine}`, 'InvalidName', "it is the server's admin user", {
      databaseName: '<admin>',
    }),
    refused(engine, `naming the server's own database on ${engine}`, 'InvalidName', 'reserved by the server', {
      databaseName: engine === 'postgres' ? 'postgres' : 'mysql',
    }),
    refused(engine, `naming Flotilla's own marks on ${engine}`, 'InvalidName', 'reserved by the server', {
      databaseName: '_flotilla',
    }),
  ]),
  refused('redis', 'asking Redis for the cache user a DBA made by hand under its name', 'NameConflict', NOT_FLOTILLAS, {
    handMade: true,
  }),
  refused(
    'redis',
    'asking Redis for a cache from a namespace allowedNamespaces does not select',
    'NamespaceNotAllowed',
    'does not match',
    { serverSpec: SELECTED_ONLY },
  ),
];

/** The object for a table row, with `undefined` fields left out (as a user would omit them). */
function withSpec(build: (name: string, spec: Json) => Json, name: string, spec: Json): Json {
  return JSON.parse(JSON.stringify(build(name, spec))) as Json;
}

export const BAD_CREATES: BadCreate[] = [
  {
    name: 'a MicroService name longer than 52 characters',
    manifest: microService('a'.repeat(53)),
    message: 'metadata.name must be at most 52 characters',
  },
  {
    name: 'a MicroService name starting with a digit',
    manifest: microService('1orders'),
    message: 'metadata.name must start with a letter',
  },
  {
    name: 'a MicroService without spec',
    manifest: { apiVersion: API_VERSION, kind: 'MicroService', metadata: { name: 'ms-no-spec', namespace } },
    message: 'spec: Required value',
  },
  {
    name: 'a MicroService with a dedicated database and a 50-character name',
    manifest: microService('d'.repeat(50), { database: { instance: 'dedicated', engine: 'postgres' } }),
    message: 'metadata.name must be at most 49 characters with a dedicated database',
  },
  ...badMicroServices.map(([what, name, spec, message]) => ({
    name: `a MicroService with ${what}`,
    manifest: withSpec(microService, name, spec),
    message,
  })),
  ...badRollouts.map(([what, name, spec, message]) => ({
    name: `a Rollout with ${what}`,
    manifest: withSpec(rollout, name, spec),
    message,
  })),
  ...badAnalysisTemplates.map(([what, name, spec, message]) => ({
    name: `an AnalysisTemplate with ${what}`,
    manifest: withSpec(analysisTemplate, name, spec),
    message,
  })),
  ...[...badDatabaseServers, ...badTenancyServers].map(([what, name, spec, message]) => ({
    name: `a DatabaseServer with ${what}`,
    manifest: withSpec(databaseServer, name, spec),
    message,
  })),
];

const withDatabase = (name: string, database: Json) => microService(name, { database });

export const BAD_UPDATES: BadUpdate[] = [
  {
    name: 'moving the database to another server',
    original: withDatabase('up-server', { serverRef: 'postgres-main' }),
    patch: { spec: { database: { serverRef: 'postgres-other' } } },
    message: 'serverRef cannot change once set',
  },
  {
    name: 'renaming the database',
    original: withDatabase('up-rename', { serverRef: 'postgres-main', name: 'orders' }),
    patch: { spec: { database: { name: 'orders_v2' } } },
    message: 'database name cannot change once set',
  },
  {
    name: 'naming a database that was created under its default name',
    original: withDatabase('up-name-later', { serverRef: 'postgres-main' }),
    patch: { spec: { database: { name: 'orders' } } },
    message: 'database name cannot change once set',
  },
  {
    name: 'dropping the database name (back to the default)',
    original: withDatabase('up-name-drop', { serverRef: 'postgres-main', name: 'orders' }),
    patch: { spec: { database: { name: null } } },
    message: 'database name cannot change once set',
  },
  {
    name: 'removing the database',
    original: withDatabase('up-remove', { serverRef: 'postgres-main' }),
    patch: { spec: { database: null } },
    message: 'database cannot be removed once set',
  },
  {
    name: 'moving a shared database to a dedicated instance',
    original: withDatabase('up-to-dedicated', { serverRef: 'postgres-main' }),
    patch: { spec: { database: { instance: 'dedicated', serverRef: null, engine: 'postgres' } } },
    message: 'instance cannot change once set',
  },
  {
    name: 'moving a dedicated database to a shared server',
    original: withDatabase('up-to-shared', { instance: 'dedicated', engine: 'postgres' }),
    patch: { spec: { database: { instance: 'shared', engine: null, serverRef: 'postgres-main' } } },
    message: 'instance cannot change once set',
  },
  {
    name: 'changing the engine of a dedicated database',
    original: withDatabase('up-engine', { instance: 'dedicated', engine: 'postgres' }),
    patch: { spec: { database: { engine: 'mysql' } } },
    message: 'engine cannot change once set',
  },
  {
    name: 'growing the storage of a dedicated database',
    original: withDatabase('up-storage', { instance: 'dedicated', engine: 'mysql', storage: '1Gi' }),
    patch: { spec: { database: { storage: '2Gi' } } },
    message: 'storage cannot change once set',
  },
  {
    name: 'setting the storage of a dedicated database created without',
    original: withDatabase('up-storage-later', { instance: 'dedicated', engine: 'mysql' }),
    patch: { spec: { database: { storage: '2Gi' } } },
    message: 'storage cannot change once set',
  },
  {
    name: 'moving the cache to another server',
    original: microService('up-cache', { cache: { serverRef: 'redis-main' } }),
    patch: { spec: { cache: { serverRef: 'redis-other' } } },
    message: 'cache serverRef cannot change once set',
  },
  {
    name: 'pointing a Rollout at another service',
    original: rollout('up-rollout'),
    patch: { spec: { serviceRef: { name: 'payments' } } },
    message: 'serviceRef.name cannot change',
  },
];

export const GOOD_UPDATES: GoodUpdate[] = [
  {
    name: 'adding a database to a service that had none',
    original: microService('ok-add-db'),
    patches: [{ spec: { database: { serverRef: 'postgres-main', name: 'orders' } } }],
  },
  {
    name: 'changing the image and the reclaim policy of a service with a database',
    original: withDatabase('ok-image', { serverRef: 'postgres-main', name: 'orders' }),
    patches: [{ spec: { image: 'registry.example.com/shop/orders:1.5.0', database: { reclaimPolicy: 'Delete' } } }],
  },
  {
    name: 'adding a dedicated database, then changing its reclaim policy',
    original: microService('ok-dedicated'),
    patches: [
      { spec: { database: { instance: 'dedicated', engine: 'postgres', storage: '5Gi' } } },
      { spec: { database: { reclaimPolicy: 'Delete' } } },
    ],
  },
  {
    name: 'spelling out the default instance of a shared database',
    original: withDatabase('ok-shared', { serverRef: 'postgres-main' }),
    patches: [{ spec: { database: { instance: 'shared' } } }],
  },
  {
    name: 'adding a cache, removing it and adding it on another server',
    original: microService('ok-cache'),
    patches: [
      { spec: { cache: { serverRef: 'redis-main' } } },
      { spec: { cache: null } },
      { spec: { cache: { serverRef: 'redis-other' } } },
    ],
  },
  {
    name: 'promoting a Rollout (a one-shot request) and clearing it again',
    original: rollout('ok-promote'),
    patches: [
      { spec: { promote: 'step' } },
      { spec: { promote: null } },
      { spec: { abort: true } },
      { spec: { abort: null, retry: true } },
    ],
  },
];
