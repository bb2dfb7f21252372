// The release's side of analysis: the MicroService reconcile makes the AnalysisRun of each
// analysis its plan waits on (resolving the templates once, into the run's spec), stops the runs it
// no longer needs, keeps only the last few finished runs of a Rollout, and shows in the Rollout's
// status the runs it waits on with each metric's last value. It never writes a run's status.

import { checkConditions } from '../../analysis/evaluate.ts';
import { isFinished } from '../../analysis/limits.ts';
import { type AnalysisContext, mergeArgs, PlaceholderError, resolveMetric } from '../../analysis/placeholders.ts';
import type { AnalysisArg, AnalysisRun, AnalysisTemplateSpec, Metric } from '../../api/analysis.ts';
import type { RolloutStatus } from '../../api/rollout.ts';
import { LABEL_MANAGED_BY, MANAGED_BY } from '../../desired/index.ts';
import type { KubeClient } from '../../kube/client.ts';
import { isConflict, isNamespaceTerminating, isNotFound } from '../../kube/errors.ts';
import type { KubeObject } from '../../kube/objects.ts';
import type { ObservedAnalysisRun, WantedAnalysis } from '../../strategy/index.ts';
import {
  ANALYSIS_KEY_LABEL,
  analysisRunType,
  analysisTemplateType,
  clusterAnalysisTemplateType,
  ROLLOUT_LABEL,
  SERVICE_LABEL,
} from './resources.ts';

/** Finished runs kept per Rollout beyond those the release waits on; older ones are deleted. */
export const FINISHED_RUNS_KEPT = 5;

type Run = AnalysisRun & KubeObject;
export type AnalysisRunSummary = NonNullable<RolloutStatus['analysisRuns']>[number];

/** A wanted analysis with what its placeholders are filled with. */
export interface WantedRun extends WantedAnalysis {
  context: AnalysisContext;
}

export const runName = (rollout: KubeObject, key: string): string => `${rollout.metadata.name}-${key}`;

/** The runs of a Rollout by their analysisKey, as the strategies read them. */
export function observeRuns(runs: readonly KubeObject[]): Map<string, ObservedAnalysisRun> {
  const byKey = new Map<string, ObservedAnalysisRun>();
  for (const run of runs as Run[]) {
    const key = run.metadata.labels?.[ANALYSIS_KEY_LABEL];
    if (!key) continue;
    byKey.set(key, {
      name: run.metadata.name ?? '',
      phase: run.status?.phase ?? 'Pending',
      ...(run.status?.message ? { message: run.status.message } : {}),
    });
  }
  return byKey;
}

/** One run for the Rollout's status: phase, message, each metric's last value and condition. */
function summarizeRun(name: string, gate: AnalysisRunSummary['gate'], run: Run | undefined): AnalysisRunSummary {
  const status = run?.status;
  return {
    name,
    gate,
    phase: status?.phase ?? 'Pending',
    ...(status?.message ? { message: status.message } : {}),
    ...(status?.metricResults
      ? {
          metrics: status.metricResults.map((result) => {
            const last = result.measurements.at(-1)?.value;
            return {
              name: result.name,
              phase: result.phase,
              ...(last !== undefined ? { lastValue: last } : {}),
              ...(result.condition ? { condition: result.condition } : {}),
              ...(result.dryRun ? { dryRun: true } : {}),
            };
          }),
        }
      : {}),
  };
}

const runNamed = (runs: readonly KubeObject[], name: string): Run | undefined =>
  (runs as Run[]).find((candidate) => candidate.metadata.name === name);

/** The runs the release waits on, for the Rollout's status. */
export function summarizeRuns(
  rollout: KubeObject,
  wanted: readonly WantedAnalysis[],
  runs: readonly KubeObject[],
): AnalysisRunSummary[] {
  return wanted.map((analysis) => {
    const name = runName(rollout, analysis.key);
    return summarizeRun(name, analysis.gate, runNamed(runs, name));
  });
}

/** Runs shown before, as they are now (one deleted meanwhile is no longer shown). */
export function refreshRuns(shown: readonly AnalysisRunSummary[], runs: readonly KubeObject[]): AnalysisRunSummary[] {
  return shown.flatMap((summary) => {
    const run = runNamed(runs, summary.name);
    return run ? [summarizeRun(summary.name, summary.gate, run)] : [];
  });
}

/** The metrics of the templates, with the context and plain args filled in; throws with why not. */
async function resolveTemplates(client: KubeClient, namespace: string, wanted: WantedRun) {
  const metrics: Metric[] = [];
  let templateArgs: AnalysisArg[] = [];
  for (const ref of wanted.request.templates) {
    const type = ref.clusterScope ? clusterAnalysisTemplateType : analysisTemplateType;
    const template = await client.getIfExists(type, ref.templateName, ref.clusterScope ? undefined : namespace);
    if (!template) {
      const where = ref.clusterScope ? '' : `${namespace}/`;
      throw new PlaceholderError(`${type.kind} ${where}${ref.templateName} does not exist`);
    }
    const spec = template.spec as AnalysisTemplateSpec;
    templateArgs = [...templateArgs, ...(spec.args ?? [])];
    metrics.push(...spec.metrics);
  }
  const args = mergeArgs(templateArgs, wanted.request.args ?? []);
  const names = new Set<string>();
  for (const metric of metrics) {
    if (names.has(metric.name)) throw new PlaceholderError(`two templates define the metric ${metric.name}`);
    names.add(metric.name);
    const invalid = checkConditions(metric);
    if (invalid) throw new PlaceholderError(invalid);
  }
  return { args, metrics: metrics.map((metric) => resolveMetric(metric, args, wanted.context)) };
}

/** The AnalysisRun of a wanted analysis, owned by the Rollout. */
export async function buildAnalysisRun(client: KubeClient, rollout: KubeObject, wanted: WantedRun): Promise<Run> {
  const namespace = rollout.metadata.namespace ?? '';
  let resolved: { args: AnalysisArg[]; metrics: Metric[] } | { invalid: string };
  try {
    resolved = await resolveTemplates(client, namespace, wanted);
  } catch (error) {
    if (!(error instanceof PlaceholderError)) throw error;
    resolved = { invalid: error.message };
  }
  return {
    apiVersion: `${analysisRunType.group}/${analysisRunType.version}`,
    kind: analysisRunType.kind,
    metadata: {
      name: runName(rollout, wanted.key),
      namespace,
      labels: {
        [LABEL_MANAGED_BY]: MANAGED_BY,
        [ROLLOUT_LABEL]: rollout.metadata.name ?? '',
        [SERVICE_LABEL]: wanted.context.service,
        [ANALYSIS_KEY_LABEL]: wanted.key,
      },
      ownerReferences: [
        {
          apiVersion: rollout.apiVersion ?? '',
          kind: rollout.kind ?? 'Rollout',
          name: rollout.metadata.name ?? '',
          uid: rollout.metadata.uid ?? '',
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: {
      gate: wanted.gate,
      ...(wanted.stepIndex !== undefined ? { stepIndex: wanted.stepIndex } : {}),
      revision: wanted.revision,
      attempt: wanted.attempt,
      templates: wanted.request.templates,
      ...('invalid' in resolved
        ? { metrics: [], invalid: resolved.invalid }
        : { metrics: resolved.metrics, ...(resolved.args.length > 0 ? { args: resolved.args } : {}) }),
    },
  } as Run;
}

/** What to do with a Rollout's runs: make the missing wanted ones, stop the unwanted running ones, delete old ones. */
export function planRuns(
  rollout: KubeObject,
  wanted: readonly WantedAnalysis[],
  runs: readonly KubeObject[],
): { create: WantedAnalysis[]; terminate: string[]; remove: string[] } {
  const wantedNames = new Set(wanted.map((analysis) => runName(rollout, analysis.key)));
  const existing = new Set(runs.map((run) => run.metadata.name));
  const create = wanted.filter((analysis) => !existing.has(runName(rollout, analysis.key)));
  const others = (runs as Run[]).filter((run) => !wantedNames.has(run.metadata.name ?? ''));
  const terminate = others
    .filter((run) => !isFinished(run.status?.phase) && !run.spec.terminate)
    .map((run) => run.metadata.name ?? '');
  const finished = others
    .filter((run) => isFinished(run.status?.phase))
    .sort((a, b) => (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? ''));
  const remove = finished.slice(FINISHED_RUNS_KEPT).map((run) => run.metadata.name ?? '');
  return { create, terminate, remove };
}

/** Makes the Rollout's runs match the release's wants (see planRuns). */
export async function syncAnalysisRuns(
  client: KubeClient,
  rollout: KubeObject,
  wanted: readonly WantedRun[],
  runs: readonly KubeObject[],
): Promise<void> {
  const namespace = rollout.metadata.namespace ?? '';
  const { create, terminate, remove } = planRuns(rollout, wanted, runs);
  await Promise.all([
    ...create.map(async (analysis) => {
      const run = await buildAnalysisRun(client, rollout, analysis as WantedRun);
      try {
        await client.create(analysisRunType, run);
      } catch (error) {
        // Made by an earlier reconcile the cache has not seen yet, or a namespace being deleted: nothing to do.
        if (!isConflict(error) && !isNamespaceTerminating(error)) throw error;
      }
    }),
    ...terminate.map((name) => client.mergePatch(analysisRunType, name, namespace, { spec: { terminate: true } })),
    ...remove.map(async (name) => {
      try {
        await client.delete(analysisRunType, name, namespace);
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    }),
  ]);
}
