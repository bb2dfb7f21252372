// The release's side of analysis: the MicroService reconcile makes the AnalysisRun of each
// analysis its plan waits on (resolving the templates once, into the run's spec), stops the runs it
// no longer needs and keeps only the last few finished runs of a Rollout (analysis/release-runs.ts
// decides which). It never writes a run's status.
import { checkConditions } from '../../analysis/evaluate.ts';
import { mergeArgs, PlaceholderError, resolveMetric } from '../../analysis/placeholders.ts';
import { planRuns, type Run, runName, type WantedRun } from '../../analysis/release-runs.ts';
import {
  ANALYSIS_KEY_LABEL,
  analysisRunType,
  analysisTemplateType,
  clusterAnalysisTemplateType,
  ROLLOUT_LABEL,
  SERVICE_LABEL,
} from '../../analysis/resources.ts';
import type { AnalysisArg, AnalysisTemplateSpec, Metric } from '../../api/analysis.ts';
import { LABEL_MANAGED_BY, MANAGED_BY } from '../../desired/index.ts';
import type { KubeClient } from '../../kube/client.ts';
import { isConflict, isNamespaceTerminating, isNotFound } from '../../kube/errors.ts';
import type { KubeObject } from '../../kube/objects.ts';

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
