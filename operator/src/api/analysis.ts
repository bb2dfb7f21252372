// Analysis: AnalysisTemplate (and the cluster-scoped ClusterAnalysisTemplate) say how a release is
// judged by its metrics; an AnalysisRun is one judgement, created by the release from templates and
// measured by the analysis controller, the only writer of its status.
import { type Static, Type } from '@sinclair/typebox';
import { DnsSubdomain, Duration, ObservedGeneration, objectHeader, StringEnum } from './common.ts';

export const ANALYSIS_TEMPLATE_KIND = 'AnalysisTemplate';
export const ANALYSIS_TEMPLATE_PLURAL = 'analysistemplates';
export const CLUSTER_ANALYSIS_TEMPLATE_KIND = 'ClusterAnalysisTemplate';
export const CLUSTER_ANALYSIS_TEMPLATE_PLURAL = 'clusteranalysistemplates';
export const ANALYSIS_RUN_KIND = 'AnalysisRun';
export const ANALYSIS_RUN_PLURAL = 'analysisruns';

export const NO_DATA_POLICIES = ['Fail', 'Inconclusive', 'Pass'] as const;
export const MEASUREMENT_PHASES = ['Successful', 'Failed', 'Inconclusive', 'Error'] as const;
export const ANALYSIS_PHASES = ['Pending', 'Running', 'Successful', 'Failed', 'Inconclusive', 'Error'] as const;
export const ANALYSIS_GATES = ['Step', 'Background', 'PrePromotion', 'PostPromotion'] as const;
export const PROVIDER_NAMES = ['prometheus', 'web'] as const;

const ARG_NAME_PATTERN = '^[A-Za-z_][A-Za-z0-9_-]*$';

const SecretKeyRef = Type.Object(
  {
    name: DnsSubdomain('Name of the Secret, in the namespace of the run.'),
    key: Type.String({ description: 'Key in the Secret.', minLength: 1, maxLength: 253 }),
  },
  { description: 'A key of a Secret in the namespace of the run.' },
);

const Arg = Type.Object(
  {
    name: Type.String({
      description: 'Name of the argument: {{args.NAME}} in queries and URLs.',
      pattern: ARG_NAME_PATTERN,
      maxLength: 63,
    }),
    value: Type.Optional(Type.String({ description: 'The value (a Rollout may set it).', maxLength: 4096 })),
    valueFrom: Type.Optional(
      Type.Object(
        { secretKeyRef: SecretKeyRef },
        { description: 'The value from a Secret, read at each measurement and never written to a status or log.' },
      ),
    ),
  },
  {
    description: 'One argument of a template.',
    'x-kubernetes-validations': [
      { rule: '!(has(self.value) && has(self.valueFrom))', message: 'an argument has value or valueFrom, not both' },
    ],
  },
);

export const Args = Type.Array(Arg, {
  description: 'Arguments, filled into {{args.NAME}} placeholders.',
  maxItems: 32,
  'x-kubernetes-list-type': 'map',
  'x-kubernetes-list-map-keys': ['name'],
});

const Timeout = (fallback: string) =>
  Duration(`How long one query may take before the measurement is an Error (default ${fallback}).`);

const PrometheusProvider = Type.Object(
  {
    address: Type.String({
      description: 'Base URL of the Prometheus server, e.g. http://prometheus.monitoring:9090.',
      pattern: '^https?://',
      maxLength: 2048,
    }),
    query: Type.String({
      description:
        'PromQL instant query (GET /api/v1/query). Placeholders: {{args.NAME}}, {{service}}, {{namespace}}, ' +
        '{{revision.canary}}, {{revision.stable}}, {{workload.canary}}, {{workload.stable}}.',
      minLength: 1,
      maxLength: 8192,
    }),
    timeout: Type.Optional(Timeout('10s')),
    authentication: Type.Optional(
      Type.Object(
        {
          bearerTokenSecretRef: Type.Optional(SecretKeyRef),
          basicAuthSecretRef: Type.Optional(
            Type.Object(
              { name: DnsSubdomain('Name of the Secret with the keys username and password.') },
              { description: 'Basic authentication: a Secret with the keys username and password.' },
            ),
          ),
        },
        {
          description: 'Credentials from a Secret; never logged.',
          'x-kubernetes-validations': [
            {
              rule: '!(has(self.bearerTokenSecretRef) && has(self.basicAuthSecretRef))',
              message: 'authentication is a bearer token or basic auth, not both',
            },
          ],
        },
      ),
    ),
    caSecretRef: Type.Optional(SecretKeyRef),
  },
  { description: 'A Prometheus instant query; its result is a number (one sample) or a list (several).' },
);

const WebProvider = Type.Object(
  {
    url: Type.String({
      description: 'The URL (placeholders as for a query).',
      pattern: '^https?://',
      maxLength: 4096,
    }),
    method: Type.Optional(
      StringEnum(['GET', 'POST', 'PUT'] as const, { description: 'HTTP method (default GET).', default: 'GET' }),
    ),
    headers: Type.Optional(
      Type.Array(
        Type.Object(
          {
            key: Type.String({ description: 'Header name.', minLength: 1, maxLength: 256 }),
            value: Type.String({ description: 'Header value (placeholders allowed).', maxLength: 4096 }),
          },
          { description: 'One header.' },
        ),
        { description: 'Request headers.', maxItems: 32 },
      ),
    ),
    body: Type.Optional(Type.String({ description: 'Request body (placeholders allowed).', maxLength: 65536 })),
    jsonPath: Type.Optional(
      Type.String({
        description:
          'Where the value is in the JSON answer, e.g. $.data.ok or {$.data.ok} (default: the whole answer).',
        maxLength: 1024,
      }),
    ),
    timeout: Type.Optional(Timeout('10s')),
  },
  { description: 'An HTTP request whose JSON answer (or a value in it) is the result.' },
);

const Provider = Type.Object(
  {
    prometheus: Type.Optional(PrometheusProvider),
    web: Type.Optional(WebProvider),
  },
  {
    description: 'Where a measurement comes from: exactly one of prometheus, web.',
    'x-kubernetes-validations': [
      {
        rule: '[has(self.prometheus), has(self.web)].filter(x, x).size() == 1',
        message: 'provider must be exactly one of prometheus, web (no other provider exists)',
      },
    ],
  },
);

const conditionField = (what: string) =>
  Type.String({
    description:
      `CEL expression over result: ${what}. result is a number when the query returns one sample, a list of ` +
      'numbers when it returns several; e.g. result >= 0.99, result.all(x, x < 500).',
    minLength: 1,
    maxLength: 2048,
    'x-kubernetes-validations': [
      { rule: "self.contains('result')", message: 'a condition must test result, the measured value' },
      {
        rule: "self.split('(').size() == self.split(')').size() && self.split('[').size() == self.split(']').size()",
        message: 'unbalanced parentheses or brackets: not a valid CEL expression',
      },
    ],
  });

export const MetricSchema = Type.Object(
  {
    name: Type.String({
      description: 'Name of the metric, unique in the template.',
      pattern: ARG_NAME_PATTERN,
      maxLength: 63,
    }),
    interval: Type.Optional(Duration('Time between measurements (default 1m).')),
    initialDelay: Type.Optional(Duration('Wait before the first measurement (default none).')),
    count: Type.Optional(
      Type.Integer({
        description: 'Measurements to take; omitted: measure until the analysis is stopped (background analysis).',
        minimum: 1,
        maximum: 10000,
      }),
    ),
    successCondition: Type.Optional(conditionField('true means the measurement is Successful')),
    failureCondition: Type.Optional(conditionField('true means the measurement Failed')),
    thresholdRange: Type.Optional(
      Type.Object(
        {
          min: Type.Optional(Type.Number({ description: 'Lowest value that passes (inclusive).' })),
          max: Type.Optional(Type.Number({ description: 'Highest value that passes (inclusive).' })),
        },
        {
          description: 'Shorthand for a successCondition: every sample within [min, max] passes, any other fails.',
          'x-kubernetes-validations': [
            { rule: 'has(self.min) || has(self.max)', message: 'thresholdRange needs min, max or both' },
            {
              rule: '!has(self.min) || !has(self.max) || self.min <= self.max',
              message: 'thresholdRange min must not exceed max',
            },
          ],
        },
      ),
    ),
    failureLimit: Type.Optional(
      Type.Integer({
        description: 'Failed measurements tolerated; one more fails the analysis (default 0).',
        minimum: 0,
        maximum: 1000,
        default: 0,
      }),
    ),
    inconclusiveLimit: Type.Optional(
      Type.Integer({
        description: 'Inconclusive measurements tolerated; one more makes the analysis Inconclusive (default 0).',
        minimum: 0,
        maximum: 1000,
        default: 0,
      }),
    ),
    consecutiveErrorLimit: Type.Optional(
      Type.Integer({
        description:
          'Errors in a row tolerated (the provider unreachable, a timeout); one more is an Error (default 4).',
        minimum: 0,
        maximum: 1000,
        default: 4,
      }),
    ),
    noData: Type.Optional(
      StringEnum(NO_DATA_POLICIES, {
        description:
          'What a query with no data (an empty vector, NaN) counts as: Fail, Inconclusive (the default) or Pass.',
        default: 'Inconclusive',
      }),
    ),
    dryRun: Type.Optional(
      Type.Boolean({ description: 'Measure and report, but never fail the analysis (default false).', default: false }),
    ),
    provider: Provider,
  },
  {
    description: 'One metric: how to measure it, how often, and what passes.',
    'x-kubernetes-validations': [
      {
        rule: 'has(self.successCondition) || has(self.failureCondition) || has(self.thresholdRange)',
        message:
          'a metric needs successCondition, failureCondition or thresholdRange: otherwise nothing can pass or fail',
      },
      {
        rule: '!has(self.thresholdRange) || !(has(self.successCondition) || has(self.failureCondition))',
        message: 'thresholdRange replaces successCondition and failureCondition: use one or the other',
      },
    ],
  },
);

const Metrics = Type.Array(MetricSchema, {
  description: 'The metrics; the analysis passes when every metric passes.',
  minItems: 1,
  maxItems: 16,
  'x-kubernetes-list-type': 'map',
  'x-kubernetes-list-map-keys': ['name'],
});

export const AnalysisTemplateSpecSchema = Type.Object(
  { args: Type.Optional(Args), metrics: Metrics },
  { description: 'Arguments and metrics of an analysis.' },
);

export const AnalysisTemplateSchema = Type.Object(
  { ...objectHeader(), spec: AnalysisTemplateSpecSchema },
  {
    description:
      'How a release is judged by its metrics: Prometheus queries or web requests, measured on a schedule, each ' +
      'with a condition. A Rollout names templates in canary.steps[].analysis, canary.analysis or ' +
      'blueGreen.prePromotionAnalysis.',
  },
);

export const ClusterAnalysisTemplateSchema = Type.Object(
  { ...objectHeader(), spec: AnalysisTemplateSpecSchema },
  { description: 'An AnalysisTemplate for every namespace (clusterScope: true in a Rollout).' },
);

/** A template named by a Rollout. */
export const TemplateRef = Type.Object(
  {
    templateName: DnsSubdomain('Name of the AnalysisTemplate (or ClusterAnalysisTemplate).'),
    clusterScope: Type.Optional(
      Type.Boolean({ description: 'A ClusterAnalysisTemplate instead (default false).', default: false }),
    ),
  },
  { description: 'A template.' },
);

/** The fields of an analysis a Rollout asks for: templates, and the arguments they get. */
export function analysisRequestFields() {
  return {
    templates: Type.Array(TemplateRef, {
      description: 'The templates; their metrics are measured together.',
      minItems: 1,
      maxItems: 8,
    }),
    args: Type.Optional(Args),
  };
}

/** canary.steps[].analysis, blueGreen.prePromotionAnalysis: templates and the arguments they get. */
export function RolloutAnalysis(description: string) {
  return Type.Object(analysisRequestFields(), { description });
}

const Measurement = Type.Object(
  {
    startedAt: Type.String({
      description: 'When it was taken (its scheduled time is the first one not before it).',
      format: 'date-time',
    }),
    finishedAt: Type.Optional(Type.String({ description: 'When the provider answered.', format: 'date-time' })),
    phase: StringEnum(MEASUREMENT_PHASES, { description: 'Successful, Failed, Inconclusive or Error.' }),
    value: Type.Optional(
      Type.String({ description: 'The value: a number, or a JSON list of numbers.', maxLength: 1024 }),
    ),
    message: Type.Optional(Type.String({ description: 'Why, in words.', maxLength: 1024 })),
  },
  { description: 'One measurement.' },
);

const MetricResult = Type.Object(
  {
    name: Type.String({ description: 'The metric.' }),
    phase: StringEnum(ANALYSIS_PHASES, { description: "The metric's verdict so far." }),
    dryRun: Type.Optional(Type.Boolean({ description: 'A dry-run metric: reported, never decisive.' })),
    count: Type.Integer({ description: 'Measurements taken.', minimum: 0 }),
    successful: Type.Integer({ description: 'Successful measurements.', minimum: 0 }),
    failed: Type.Integer({ description: 'Failed measurements.', minimum: 0 }),
    inconclusive: Type.Integer({ description: 'Inconclusive measurements.', minimum: 0 }),
    error: Type.Integer({ description: 'Error measurements.', minimum: 0 }),
    consecutiveErrors: Type.Integer({ description: 'Errors in a row, up to now.', minimum: 0 }),
    condition: Type.Optional(Type.String({ description: 'The condition the values are held to.' })),
    query: Type.Optional(Type.String({ description: 'The query or URL measured, placeholders filled in.' })),
    message: Type.Optional(Type.String({ description: "The last measurement's message." })),
    measurements: Type.Array(Measurement, {
      description: 'The last measurements (at most 10; the counts above cover all of them).',
      maxItems: 10,
    }),
  },
  { description: 'The measurements of one metric.' },
);

export const AnalysisRunSpecSchema = Type.Object(
  {
    gate: StringEnum(ANALYSIS_GATES, {
      description:
        'What the release waits for: a canary Step, Background analysis, or blue-green PrePromotion (before the ' +
        'switch) or PostPromotion (after it, the old revision kept to switch back).',
    }),
    stepIndex: Type.Optional(Type.Integer({ description: 'The canary step (Step runs).', minimum: 0 })),
    revision: Type.String({ description: 'The revision judged (the canary).' }),
    attempt: Type.Integer({ description: 'The attempt of the release (spec.retry starts another).', minimum: 0 }),
    templates: Type.Array(TemplateRef, { description: 'The templates the metrics come from.', maxItems: 8 }),
    args: Type.Optional(Args),
    metrics: Type.Array(MetricSchema, {
      description: 'The metrics, resolved from the templates with every placeholder but secret arguments filled in.',
      maxItems: 64,
    }),
    terminate: Type.Optional(
      Type.Boolean({ description: 'Set by the release when it no longer needs the run: measuring stops.' }),
    ),
    invalid: Type.Optional(
      Type.String({
        description:
          'Why the templates could not be resolved (a template missing, an argument without a value, a condition ' +
          'that is not CEL): the run ends in Error at once, with this message.',
        maxLength: 4096,
      }),
    ),
  },
  { description: 'What is measured: written once by the release that starts the run.' },
);

export const AnalysisRunStatusSchema = Type.Object(
  {
    observedGeneration: Type.Optional(ObservedGeneration),
    phase: Type.Optional(
      StringEnum(ANALYSIS_PHASES, { description: 'Pending, Running, Successful, Failed, Inconclusive or Error.' }),
    ),
    message: Type.Optional(
      Type.String({ description: 'Why the run is in its phase: the deciding metric, value and condition.' }),
    ),
    startedAt: Type.Optional(
      Type.String({ description: 'When measuring began; the schedule counts from it.', format: 'date-time' }),
    ),
    finishedAt: Type.Optional(Type.String({ description: 'When the run reached its verdict.', format: 'date-time' })),
    metricsPassed: Type.Optional(Type.Integer({ description: 'Metrics that passed.', minimum: 0 })),
    metricsFailed: Type.Optional(
      Type.Integer({ description: 'Metrics that failed (or erred), dry-run ones included.', minimum: 0 }),
    ),
    metricResults: Type.Optional(Type.Array(MetricResult, { description: 'Per metric.', maxItems: 64 })),
  },
  { description: 'The measurements and the verdict; written only by the analysis controller.' },
);

export const AnalysisRunSchema = Type.Object(
  { ...objectHeader(), spec: AnalysisRunSpecSchema, status: Type.Optional(AnalysisRunStatusSchema) },
  {
    description:
      'One analysis of a release, owned by its Rollout: the metrics, resolved from templates, and their ' +
      'measurements. The release reads its phase; only the last few runs of a Rollout are kept.',
  },
);

export type Metric = Static<typeof MetricSchema>;
export type AnalysisTemplate = Static<typeof AnalysisTemplateSchema>;
export type AnalysisTemplateSpec = Static<typeof AnalysisTemplateSpecSchema>;
export type AnalysisRun = Static<typeof AnalysisRunSchema>;
export type AnalysisRunSpec = Static<typeof AnalysisRunSpecSchema>;
export type AnalysisRunStatus = Static<typeof AnalysisRunStatusSchema>;
export type MetricResult = Static<typeof MetricResult>;
export type Measurement = Static<typeof Measurement>;
export type AnalysisArg = Static<typeof Arg>;
export type AnalysisPhase = (typeof ANALYSIS_PHASES)[number];
export type MeasurementPhase = (typeof MEASUREMENT_PHASES)[number];
export type AnalysisGate = (typeof ANALYSIS_GATES)[number];
export type NoDataPolicy = (typeof NO_DATA_POLICIES)[number];
