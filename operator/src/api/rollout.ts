// Rollout: the release policy of one MicroService, and the record of its progress.
import { type Static, Type } from '@sinclair/typebox';
import { ANALYSIS_GATES, ANALYSIS_PHASES, analysisRequestFields, RolloutAnalysis } from './analysis.ts';
import { Conditions, DnsLabel, Duration, IntOrString, ObservedGeneration, objectHeader, StringEnum } from './common.ts';

export const ROLLOUT_KIND = 'Rollout';
export const ROLLOUT_PLURAL = 'rollouts';

export const ROLLOUT_PHASES = ['Healthy', 'Progressing', 'Paused', 'Degraded', 'Aborted'] as const;
export const TRAFFIC_ROUTINGS = ['auto', 'istio', 'gatewayAPI', 'replicas'] as const;
export const PROMOTIONS = ['step', 'full'] as const;

const CanaryStep = Type.Object(
  {
    setWeight: Type.Optional(
      Type.Integer({ description: 'Percent of traffic (0-100) the new version receives.', minimum: 0, maximum: 100 }),
    ),
    pause: Type.Optional(
      Type.Object(
        {
          duration: Type.Optional(
            Duration('How long to wait before the next step. Without it the rollout waits for a promotion.'),
          ),
        },
        { description: 'Wait: for the duration if set, otherwise until promoted (spec.promote: step).' },
      ),
    ),
    analysis: Type.Optional(
      RolloutAnalysis(
        'Wait for an analysis of the canary at its current weight: Successful goes on, Failed aborts the release, ' +
          'Inconclusive pauses it until promote or abort.',
      ),
    ),
  },
  {
    description: 'One step of a canary release: setWeight, pause or analysis.',
    'x-kubernetes-validations': [
      {
        rule: '[has(self.setWeight), has(self.pause), has(self.analysis)].filter(x, x).size() == 1',
        message: 'each canary step is exactly one of setWeight, pause or analysis',
      },
    ],
  },
);

const ScaleDownDelaySeconds = Type.Integer({
  description: 'Seconds the old version keeps running after traffic left it, for requests in flight (default 30).',
  minimum: 0,
  maximum: 86400,
  default: 30,
});

const Canary = Type.Object(
  {
    steps: Type.Array(CanaryStep, {
      description:
        'The steps, in order, as Argo Rollouts spells them: setWeight sends a share of traffic to the new version, ' +
        'pause waits. After the last step the new version takes all traffic.',
      minItems: 1,
      maxItems: 32,
    }),
    trafficRouting: Type.Optional(
      StringEnum(TRAFFIC_ROUTINGS, {
        description:
          'How traffic is split: istio (VirtualService weights), gatewayAPI (HTTPRoute weights), replicas ' +
          '(proportional pod counts), or auto (the default): istio if installed, else Gateway API, else replicas.',
        default: 'auto',
      }),
    ),
    progressDeadlineSeconds: Type.Optional(
      Type.Integer({
        description:
          'Seconds the canary may take to become Ready at a step; past them the release aborts (default 600).',
        minimum: 1,
        maximum: 86400,
        default: 600,
      }),
    ),
    scaleDownDelaySeconds: Type.Optional(ScaleDownDelaySeconds),
    analysis: Type.Optional(
      Type.Object(
        {
          ...analysisRequestFields(),
          startingStep: Type.Optional(
            Type.Integer({
              description: 'Index of the step the background analysis starts at (default 0).',
              minimum: 0,
              maximum: 31,
            }),
          ),
        },
        {
          description:
            'Background analysis: measured from startingStep until the last step is done; Failed aborts the ' +
            'release at once, Inconclusive pauses it.',
        },
      ),
    ),
  },
  { description: 'A canary release: the new version receives a growing share of traffic, step by step.' },
);

const BlueGreen = Type.Object(
  {
    autoPromotionEnabled: Type.Optional(
      Type.Boolean({
        description: 'Switch traffic to the new version without a promotion once it is Ready (default false).',
        default: false,
      }),
    ),
    autoPromotionSeconds: Type.Optional(
      Type.Integer({
        description: 'Switch traffic automatically this many seconds after the new version is Ready.',
        minimum: 0,
        maximum: 86400,
      }),
    ),
    scaleDownDelaySeconds: Type.Optional(ScaleDownDelaySeconds),
    previewReplicaCount: Type.Optional(
      Type.Integer({
        description: 'Pods of the new version before promotion (default: as many as the active version).',
        minimum: 1,
        maximum: 1000,
      }),
    ),
    prePromotionAnalysis: Type.Optional(
      RolloutAnalysis(
        'An analysis of the Ready preview before the switch: the switch (automatic or requested) waits for it to ' +
          'be Successful; Failed aborts, Inconclusive pauses until promote. promote: full skips it.',
      ),
    ),
    postPromotionAnalysis: Type.Optional(
      RolloutAnalysis(
        'An analysis of the new revision once it is active: the old one keeps its pods until it is Successful; ' +
          'Failed switches the Service back to the old revision and aborts, Inconclusive pauses until promote. ' +
          'promote: full skips it.',
      ),
    ),
  },
  {
    description:
      'A blue-green release: the new version runs beside the old one behind the <name>-preview Service, then takes ' +
      'all traffic at once when promoted.',
  },
);

const PercentOrCount = (description: string, fallback: number | string) =>
  IntOrString({
    description: `${description} A number of pods or a percentage such as 25% (default ${fallback}).`,
    default: fallback,
    'x-kubernetes-validations': [
      {
        rule: "type(self) == int ? self >= 0 : self.matches('^[0-9]{1,3}%$')",
        message: 'must be a non-negative number of pods or a percentage such as 25%',
      },
    ],
  });

const Rolling = Type.Object(
  {
    maxSurge: Type.Optional(PercentOrCount('Pods above the desired count during the update.', '25%')),
    maxUnavailable: Type.Optional(PercentOrCount('Pods that may be unavailable during the update.', 0)),
  },
  {
    description: 'A plain rolling update of the Deployment, as Kubernetes does it.',
    'x-kubernetes-validations': [
      {
        rule:
          '!has(self.maxSurge) || !has(self.maxUnavailable) || ' +
          "!((self.maxSurge == 0 || self.maxSurge == '0%') && (self.maxUnavailable == 0 || self.maxUnavailable == '0%'))",
        message: 'maxSurge and maxUnavailable must not both be 0: the update could never make progress',
      },
    ],
  },
);

const Strategy = Type.Object(
  {
    canary: Type.Optional(Canary),
    blueGreen: Type.Optional(BlueGreen),
    rolling: Type.Optional(Rolling),
  },
  {
    description: 'How a new version is released: exactly one of canary, blueGreen, rolling.',
    'x-kubernetes-validations': [
      {
        rule: '[has(self.canary), has(self.blueGreen), has(self.rolling)].filter(x, x).size() == 1',
        message: 'strategy must set exactly one of canary, blueGreen, rolling',
      },
    ],
  },
);

export const RolloutSpecSchema = Type.Object(
  {
    serviceRef: Type.Object(
      {
        name: DnsLabel('Name of the MicroService, in the same namespace, that this Rollout releases.', {
          'x-kubernetes-validations': [
            {
              rule: 'self == oldSelf',
              message: 'serviceRef.name cannot change; create another Rollout for another service',
            },
          ],
        }),
      },
      { description: 'The MicroService this Rollout releases.' },
    ),
    strategy: Strategy,
    paused: Type.Optional(
      Type.Boolean({
        description: "The user's hold (default false): while true no step is taken. The controller never changes it.",
        default: false,
      }),
    ),
    promote: Type.Optional(
      StringEnum(PROMOTIONS, {
        description:
          'One-shot request: step goes past the current pause, full skips the remaining steps. The controller ' +
          'acts, clears the field and records what it did in status.lastAction.',
      }),
    ),
    abort: Type.Optional(
      Type.Boolean({
        description: 'One-shot request: send all traffic back to the stable version. Cleared by the controller.',
      }),
    ),
    retry: Type.Optional(
      Type.Boolean({
        description: 'One-shot request: restart an aborted release from its first step. Cleared by the controller.',
      }),
    ),
  },
  {
    description: 'The release policy.',
    'x-kubernetes-validations': [
      {
        rule: '!(has(self.promote) && has(self.abort) && self.abort)',
        message: 'promote and abort cannot be requested together',
      },
    ],
  },
);

export const RolloutStatusSchema = Type.Object(
  {
    observedGeneration: Type.Optional(ObservedGeneration),
    phase: Type.Optional(
      StringEnum(ROLLOUT_PHASES, { description: 'Healthy, Progressing, Paused, Degraded or Aborted.' }),
    ),
    strategy: Type.Optional(
      StringEnum(['Canary', 'BlueGreen', 'Rolling'] as const, { description: 'The strategy in force.' }),
    ),
    currentStepIndex: Type.Optional(
      Type.Integer({ description: 'Index of the canary step being carried out.', minimum: 0 }),
    ),
    stableRevision: Type.Optional(Type.String({ description: 'Revision hash of the version that serves traffic.' })),
    canaryRevision: Type.Optional(Type.String({ description: 'Revision hash of the version being released.' })),
    canaryWeight: Type.Optional(
      Type.Integer({
        description:
          'Percent of traffic the new version receives now: the step asks for a weight, and the new ' +
          'version gets it only as far as its Ready pods can carry it (0 while none is Ready).',
        minimum: 0,
        maximum: 100,
      }),
    ),
    message: Type.Optional(Type.String({ description: 'Why the rollout is in its phase, for people.' })),
    pauseStartTime: Type.Optional(
      Type.String({
        description:
          'When the current canary pause began (a timed pause ends its duration after it), or when the ' +
          'blue-green preview became Ready (auto-promotion counts from it).',
        format: 'date-time',
      }),
    ),
    abortedRevision: Type.Optional(
      Type.String({
        description: 'Revision hash of the release that was aborted; it is not tried again until spec.retry.',
      }),
    ),
    notReadySince: Type.Optional(
      Type.String({
        description:
          'Since when the new revision has not been fully Ready; after progressDeadlineSeconds it is aborted.',
        format: 'date-time',
      }),
    ),
    scaleDown: Type.Optional(
      Type.Object(
        {
          revision: Type.String({
            description: 'Revision hash of the previous version kept for scaleDownDelaySeconds.',
          }),
          at: Type.String({ description: 'When it is scaled down.', format: 'date-time' }),
        },
        { description: 'The previous revision waiting to be scaled down after a promotion.' },
      ),
    ),
    acceptedRequest: Type.Optional(
      Type.Object(
        {
          promote: Type.Optional(StringEnum(PROMOTIONS, { description: 'A promotion taken from spec.promote.' })),
          abort: Type.Optional(Type.Boolean({ description: 'An abort taken from spec.abort.' })),
          retry: Type.Optional(Type.Boolean({ description: 'A retry taken from spec.retry.' })),
          generation: Type.Optional(
            Type.Integer({ description: 'metadata.generation of the spec that carried it.', minimum: 0 }),
          ),
        },
        {
          description:
            'One-shot requests taken from the spec and not yet carried out. The controller records a request here ' +
            'before it clears it from the spec, and shows what it did only after that, so that a request is never ' +
            'lost or carried out twice, whenever the operator stops.',
        },
      ),
    ),
    attempt: Type.Optional(
      Type.Integer({
        description:
          'Attempt of the current release: spec.retry (and a promotion past an Inconclusive background analysis) ' +
          'starts another, with fresh analysis runs.',
        minimum: 0,
      }),
    ),
    analysisRuns: Type.Optional(
      Type.Array(
        Type.Object(
          {
            name: Type.String({ description: 'The AnalysisRun.' }),
            gate: StringEnum(ANALYSIS_GATES, { description: 'Step, Background, PrePromotion or PostPromotion.' }),
            phase: StringEnum(ANALYSIS_PHASES, { description: 'Its phase.' }),
            message: Type.Optional(Type.String({ description: 'Its message.' })),
            metrics: Type.Optional(
              Type.Array(
                Type.Object(
                  {
                    name: Type.String({ description: 'The metric.' }),
                    phase: StringEnum(ANALYSIS_PHASES, { description: 'Its verdict so far.' }),
                    lastValue: Type.Optional(Type.String({ description: 'Its last measured value.' })),
                    condition: Type.Optional(Type.String({ description: 'The condition it is held to.' })),
                    dryRun: Type.Optional(Type.Boolean({ description: 'A dry-run metric.' })),
                  },
                  { description: 'One metric.' },
                ),
                { description: "Each metric's last value and verdict.", maxItems: 64 },
              ),
            ),
          },
          { description: 'One run.' },
        ),
        {
          description:
            "The analysis runs the release waits on now (or that aborted it), with each metric's verdict and last " +
            'value, refreshed when a verdict changes; the AnalysisRun has every measurement.',
          maxItems: 4,
        },
      ),
    ),
    lastAction: Type.Optional(
      Type.Object(
        {
          action: Type.String({ description: 'PromoteStep, PromoteFull, Abort or Retry.' }),
          time: Type.Optional(Type.String({ description: 'When the controller acted.', format: 'date-time' })),
          message: Type.Optional(Type.String({ description: 'What the controller did.' })),
        },
        { description: 'The last one-shot request (promote, abort, retry) the controller carried out.' },
      ),
    ),
    conditions: Type.Optional(
      Conditions('Ready, Progressing, Paused and Aborted, so that kubectl wait --for=condition=Paused works.'),
    ),
  },
  { description: 'The progress of the release.' },
);

export const RolloutSchema = Type.Object(
  {
    ...objectHeader(),
    spec: RolloutSpecSchema,
    status: Type.Optional(RolloutStatusSchema),
  },
  {
    description:
      'The release policy of one MicroService (canary, blue-green or rolling) and the record of its progress. ' +
      'Promote with kubectl patch rollout NAME --type merge -p \'{"spec":{"promote":"step"}}\'.',
  },
);

export type RolloutSpec = Static<typeof RolloutSpecSchema>;
export type RolloutStatus = Static<typeof RolloutStatusSchema>;
export type Rollout = Static<typeof RolloutSchema>;
export type RolloutPhase = (typeof ROLLOUT_PHASES)[number];
export type TrafficRouting = (typeof TRAFFIC_ROUTINGS)[number];
