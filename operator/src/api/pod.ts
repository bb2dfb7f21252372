// The pod-level pieces of the MicroService schema: files, pod metadata, scheduling, disruption
// budget, lifecycle and security context. Each refuses at admission what would fail later.
import { type Static, Type } from '@sinclair/typebox';
import { type CelRule, DnsSubdomain, IntOrString, PortNumber, StringEnum, StringMap } from './common.ts';
import { RollOnChange } from './container.ts';

/** The pod labels Flotilla sets (selectors depend on them); podLabels may not set them. */
export const RESERVED_POD_LABELS = [
  'app.kubernetes.io/name',
  'app.kubernetes.io/instance',
  'app.kubernetes.io/managed-by',
];
/** The prefix of Flotilla's own labels and annotations (revision, restartedAt, config and credentials hashes). */
export const RESERVED_PREFIX = 'flotilla.dev/';
/** The scrape annotations Flotilla sets when a port is named metrics. */
export const SCRAPE_ANNOTATIONS = ['prometheus.io/scrape', 'prometheus.io/port', 'prometheus.io/path'];

const celList = (values: readonly string[]) => `[${values.map((v) => `'${v}'`).join(', ')}]`;

/** A label or annotation key: an optional DNS-subdomain prefix and a name of at most 63 characters. */
const QUALIFIED_NAME =
  '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$';

const keyRules = (field: string, reserved: readonly string[]): CelRule[] => [
  {
    rule: `self.all(k, k.size() <= 317 && k.matches('${QUALIFIED_NAME}'))`,
    message: `${field} keys must be qualified names: an optional DNS prefix and '/', then at most 63 letters, digits, '-', '_' or '.'`,
  },
  {
    rule: `self.all(k, !k.startsWith('${RESERVED_PREFIX}')${reserved.length > 0 ? ` && !(k in ${celList(reserved)})` : ''})`,
    message:
      `${field} must not set ${[...reserved, `${RESERVED_PREFIX}*`].join(', ')}: Flotilla sets them on every pod ` +
      '(selectors, revisions and release hashes depend on them)',
  },
];

export const PodLabels = StringMap(
  Type.String({ maxLength: 63, pattern: '^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$' }),
  {
    description:
      "Labels added to the service's pods (e.g. cost centre, sidecar injection). Flotilla's own labels " +
      `(${RESERVED_POD_LABELS.join(', ')}, ${RESERVED_PREFIX}*) cannot be set. A change rolls the pods.`,
    maxProperties: 32,
    'x-kubernetes-validations': keyRules('podLabels', RESERVED_POD_LABELS),
  },
);

export const PodAnnotations = StringMap(Type.String({ maxLength: 4096 }), {
  description:
    `Annotations added to the service's pods. Flotilla's own (${RESERVED_PREFIX}*, and the prometheus.io scrape ` +
    'annotations when a port is named metrics) cannot be set. A change rolls the pods.',
  maxProperties: 64,
  'x-kubernetes-validations': keyRules('podAnnotations', []),
});

/** A path of a file below a mounted directory: relative, no `..`. */
const RelativePath = Type.String({
  description: 'Path of the file, relative to the mounted directory (no .. and no leading /).',
  pattern: '^[^/]',
  minLength: 1,
  maxLength: 1024,
  'x-kubernetes-validations': [
    { rule: "!self.matches('(^|/)[.][.](/|$)')", message: 'a file path must not contain a .. segment' },
  ],
});

const FileItem = Type.Object(
  {
    key: Type.String({ description: 'The key of the ConfigMap or Secret.', minLength: 1, maxLength: 253 }),
    path: RelativePath,
  },
  { description: 'One key, written as the file at path.' },
);

export const File = Type.Object(
  {
    path: Type.String({
      description:
        'The directory the files appear in, an absolute path (e.g. /etc/orders). Each key becomes a file there.',
      pattern: '^(/[^/]+)+$',
      maxLength: 1024,
      'x-kubernetes-validations': [
        { rule: "!self.matches('(^|/)[.][.](/|$)')", message: 'a files path must not contain a .. segment' },
      ],
    }),
    configMap: Type.Optional(DnsSubdomain("Name of a ConfigMap in the service's namespace.")),
    secret: Type.Optional(DnsSubdomain("Name of a Secret in the service's namespace.")),
    items: Type.Optional(
      Type.Array(FileItem, {
        description: 'Only these keys, at these paths; default every key under its own name.',
        maxItems: 64,
      }),
    ),
    defaultMode: Type.Optional(
      Type.Integer({
        description: 'Permission bits of the files, e.g. 0440 written as 288 in JSON (default 0644).',
        minimum: 0,
        maximum: 511,
      }),
    ),
    optional: Type.Optional(
      Type.Boolean({ description: 'Whether the ConfigMap or Secret may be missing (default false: the pod waits).' }),
    ),
    rollOnChange: RollOnChange('ConfigMap or Secret'),
  },
  {
    description:
      'A ConfigMap or a Secret mounted read-only as files into the service container. Exactly one of configMap, secret.',
    'x-kubernetes-validations': [
      {
        rule: 'has(self.configMap) != has(self.secret)',
        message: 'a files entry sets exactly one of configMap, secret',
      },
    ],
  },
);

export const Files = Type.Array(File, {
  description: 'ConfigMaps and Secrets mounted read-only as files; no two on one path.',
  maxItems: 32,
  'x-kubernetes-validations': [
    {
      rule: 'self.all(f, self.exists_one(g, g.path == f.path))',
      message: 'files paths must be unique: no two on one path',
    },
  ],
});

const Toleration = Type.Object(
  {
    key: Type.Optional(
      Type.String({ description: 'The taint key; empty with operator Exists matches every taint.', maxLength: 317 }),
    ),
    operator: Type.Optional(
      StringEnum(['Exists', 'Equal'] as const, { description: 'Equal (default) compares value; Exists matches any.' }),
    ),
    value: Type.Optional(Type.String({ description: 'The taint value, with operator Equal.', maxLength: 63 })),
    effect: Type.Optional(
      StringEnum(['NoSchedule', 'PreferNoSchedule', 'NoExecute'] as const, {
        description: 'The taint effect to tolerate; every effect when empty.',
      }),
    ),
    tolerationSeconds: Type.Optional(
      Type.Integer({
        description: 'With effect NoExecute: how long the pod stays after the taint appears.',
        minimum: 0,
      }),
    ),
  },
  {
    description: 'A taint the pods tolerate (core/v1 Toleration).',
    'x-kubernetes-validations': [
      {
        rule: "!has(self.operator) || self.operator != 'Exists' || !has(self.value) || self.value == ''",
        message: 'a toleration with operator Exists takes no value',
      },
      {
        rule: "has(self.key) || (has(self.operator) && self.operator == 'Exists')",
        message: 'a toleration without key must have operator Exists',
      },
      {
        rule: "!has(self.tolerationSeconds) || (has(self.effect) && self.effect == 'NoExecute')",
        message: 'tolerationSeconds is only for effect NoExecute',
      },
    ],
  },
);

/** An affinity term, left to the API server to check (core/v1 is large); a mistake fails the Deployment's write. */
const AffinityPart = (what: string) =>
  Type.Unsafe<Record<string, unknown>>({
    type: 'object',
    'x-kubernetes-preserve-unknown-fields': true,
    description: `${what}, exactly as in core/v1 Affinity. Checked by the API server when the Deployment is written.`,
  });

const TopologySpread = Type.Object(
  {
    maxSkew: Type.Integer({ description: 'The most the pod count may differ between two domains.', minimum: 1 }),
    topologyKey: Type.String({
      description: 'The node label that defines a domain, e.g. topology.kubernetes.io/zone or kubernetes.io/hostname.',
      minLength: 1,
      maxLength: 317,
    }),
    whenUnsatisfiable: Type.Optional(
      StringEnum(['DoNotSchedule', 'ScheduleAnyway'] as const, {
        description: 'DoNotSchedule (default) keeps a pod pending; ScheduleAnyway only prefers spreading.',
      }),
    ),
  },
  {
    description:
      "Spread the service's pods over the domains of topologyKey: a core/v1 TopologySpreadConstraint with the " +
      "service's own label selector filled in.",
  },
);

export const Scheduling = Type.Object(
  {
    nodeSelector: Type.Optional(
      StringMap(Type.String({ maxLength: 63 }), {
        description: 'Node labels a node must have to run the pods.',
        maxProperties: 32,
      }),
    ),
    tolerations: Type.Optional(Type.Array(Toleration, { description: 'Taints the pods tolerate.', maxItems: 32 })),
    affinity: Type.Optional(
      Type.Object(
        {
          nodeAffinity: Type.Optional(AffinityPart('Node affinity')),
          podAffinity: Type.Optional(AffinityPart('Pod affinity')),
          podAntiAffinity: Type.Optional(AffinityPart('Pod anti-affinity')),
        },
        { description: 'Node and pod affinity (core/v1 Affinity).' },
      ),
    ),
    topologySpread: Type.Optional(
      Type.Array(TopologySpread, {
        description: "How the pods spread over zones or nodes; the service's selector is filled in.",
        maxItems: 8,
        'x-kubernetes-validations': [
          {
            rule: "self.all(t, self.exists_one(u, u.topologyKey == t.topologyKey && (has(u.whenUnsatisfiable) ? u.whenUnsatisfiable : 'DoNotSchedule') == (has(t.whenUnsatisfiable) ? t.whenUnsatisfiable : 'DoNotSchedule')))",
            message: 'topologySpread may name a topologyKey only once for each whenUnsatisfiable',
          },
        ],
      }),
    ),
    priorityClassName: Type.Optional(DnsSubdomain('The PriorityClass of the pods.')),
  },
  { description: 'Where the pods may run.' },
);

const budgetValue = (what: string) =>
  IntOrString({
    description: `${what}: a number of pods or a percentage such as 25%.`,
    'x-kubernetes-validations': [
      {
        rule: "type(self) == int ? self >= 0 : self.matches('^[0-9]{1,3}%$')",
        message: `${what} is a number of pods (0 or more) or a percentage such as 25%`,
      },
    ],
  });

export const DisruptionBudget = Type.Object(
  {
    minAvailable: Type.Optional(budgetValue('Pods that must stay available during a voluntary disruption')),
    maxUnavailable: Type.Optional(budgetValue('Pods that may be unavailable during a voluntary disruption')),
  },
  {
    description:
      'The PodDisruptionBudget <name> (policy/v1) that limits voluntary disruptions such as node drains. Without ' +
      'it, a service of more than one replica (or autoscaled with minReplicas above 1) gets maxUnavailable: 1, ' +
      'and a single replica gets none. Exactly one of minAvailable, maxUnavailable.',
    'x-kubernetes-validations': [
      {
        rule: 'has(self.minAvailable) != has(self.maxUnavailable)',
        message: 'disruptionBudget sets exactly one of minAvailable, maxUnavailable',
      },
    ],
  },
);

/** The kubelet's grace period when none is set. */
export const DEFAULT_TERMINATION_GRACE_SECONDS = 30;

export const Lifecycle = Type.Object(
  {
    terminationGracePeriodSeconds: Type.Optional(
      Type.Integer({
        description: `Seconds a pod has to stop after it is asked to (default ${DEFAULT_TERMINATION_GRACE_SECONDS}); then it is killed.`,
        minimum: 0,
        maximum: 86400,
      }),
    ),
    preStopSleepSeconds: Type.Optional(
      Type.Integer({
        description:
          'Seconds the pod keeps serving after it is taken out of the endpoints and before SIGTERM (a preStop ' +
          'sleep), so that proxies and the mesh stop sending it requests first: the common fix for 502s during ' +
          'a rollout. Counts against terminationGracePeriodSeconds.',
        minimum: 1,
        maximum: 3600,
      }),
    ),
  },
  {
    description: 'How pods stop.',
    'x-kubernetes-validations': [
      {
        rule: `!has(self.preStopSleepSeconds) || self.preStopSleepSeconds < (has(self.terminationGracePeriodSeconds) ? self.terminationGracePeriodSeconds : ${DEFAULT_TERMINATION_GRACE_SECONDS})`,
        message: `preStopSleepSeconds must be shorter than terminationGracePeriodSeconds (default ${DEFAULT_TERMINATION_GRACE_SECONDS}): the sleep counts against the grace period, and the pod is killed when it ends`,
      },
    ],
  },
);

/** A rule of the restricted Pod Security Standard, named as the standard names it. */
const restricted = (rule: string, value: string, standardRule: string): CelRule => ({
  rule,
  message: `${value} breaks the restricted Pod Security Standard (rule "${standardRule}")`,
});

export const SecurityContext = Type.Object(
  {
    runAsUser: Type.Optional(
      Type.Integer({
        description: 'The user id the containers run as (not 0).',
        minimum: 0,
        maximum: 2147483647,
        'x-kubernetes-validations': [restricted('self != 0', 'runAsUser 0 (root)', 'Running as Non-root user')],
      }),
    ),
    runAsGroup: Type.Optional(
      Type.Integer({ description: 'The primary group id of the containers.', minimum: 0, maximum: 2147483647 }),
    ),
    fsGroup: Type.Optional(
      Type.Integer({ description: 'The group that owns mounted volumes.', minimum: 0, maximum: 2147483647 }),
    ),
    readOnlyRootFilesystem: Type.Optional(
      Type.Boolean({ description: "Whether the containers' root filesystem is read-only (default false)." }),
    ),
    runAsNonRoot: Type.Optional(
      Type.Boolean({
        description: 'Always true; stated only to be refused when false.',
        'x-kubernetes-validations': [restricted('self', 'runAsNonRoot false', 'Running as Non-root')],
      }),
    ),
    allowPrivilegeEscalation: Type.Optional(
      Type.Boolean({
        description: 'Always false; stated only to be refused when true.',
        'x-kubernetes-validations': [restricted('!self', 'allowPrivilegeEscalation true', 'Privilege Escalation')],
      }),
    ),
    privileged: Type.Optional(
      Type.Boolean({
        description: 'Always false; stated only to be refused when true.',
        'x-kubernetes-validations': [restricted('!self', 'privileged true', 'Privileged Containers')],
      }),
    ),
  },
  {
    description:
      'The security context of the pods. Flotilla always applies the restricted Pod Security Standard ' +
      '(runAsNonRoot, no privilege escalation, every capability dropped, the RuntimeDefault seccomp profile); ' +
      'these fields may be set within it, and a value that would break it is refused, naming the rule.',
  },
);

export const Observability = Type.Object(
  {
    tracing: Type.Optional(
      Type.Object(
        {
          sampling: Type.Number({
            description: 'Percent of the traces started here that are recorded (0-100); a parent’s decision is kept.',
            minimum: 0,
            maximum: 100,
          }),
        },
        {
          description:
            'OpenTelemetry tracing: the service container gets OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES ' +
            '(namespace, service, revision), the sampler and OTEL_EXPORTER_OTLP_ENDPOINT from the operator’s ' +
            '--otlp-endpoint; with Istio installed, a Telemetry resource sets the mesh’s sampling for its pods.',
        },
      ),
    ),
    metrics: Type.Optional(
      Type.Object(
        {
          port: PortNumber('The container port that serves metrics.'),
          path: Type.Optional(
            Type.String({ description: 'The path of the metrics (default /metrics).', pattern: '^/', maxLength: 1024 }),
          ),
        },
        { description: 'Where Prometheus scrapes the service (the prometheus.io annotations of its pods).' },
      ),
    ),
  },
  { description: 'Tracing and metrics, wired by the platform rather than by each team.' },
);

export type ObservabilitySpec = Static<typeof Observability>;
export type FileSpec = Static<typeof File>;
export type SchedulingSpec = Static<typeof Scheduling>;
export type DisruptionBudgetSpec = Static<typeof DisruptionBudget>;
export type LifecycleSpec = Static<typeof Lifecycle>;
export type SecurityContextSpec = Static<typeof SecurityContext>;
