// The analysis kinds, as the API client addresses them, and the labels that tie a run to its release.
import {
  ANALYSIS_RUN_KIND,
  ANALYSIS_RUN_PLURAL,
  ANALYSIS_TEMPLATE_KIND,
  ANALYSIS_TEMPLATE_PLURAL,
  CLUSTER_ANALYSIS_TEMPLATE_KIND,
  CLUSTER_ANALYSIS_TEMPLATE_PLURAL,
} from '../api/analysis.ts';
import { GROUP, VERSION } from '../api/common.ts';
import type { ResourceType } from '../kube/objects.ts';

export const analysisRunType: ResourceType = {
  group: GROUP,
  version: VERSION,
  kind: ANALYSIS_RUN_KIND,
  plural: ANALYSIS_RUN_PLURAL,
  namespaced: true,
};
export const analysisTemplateType: ResourceType = {
  group: GROUP,
  version: VERSION,
  kind: ANALYSIS_TEMPLATE_KIND,
  plural: ANALYSIS_TEMPLATE_PLURAL,
  namespaced: true,
};
export const clusterAnalysisTemplateType: ResourceType = {
  group: GROUP,
  version: VERSION,
  kind: CLUSTER_ANALYSIS_TEMPLATE_KIND,
  plural: CLUSTER_ANALYSIS_TEMPLATE_PLURAL,
  namespaced: false,
};

/** The Rollout a run belongs to. */
export const ROLLOUT_LABEL = 'flotilla.dev/rollout';
/** The MicroService that Rollout releases: its reconcile reads the run's phase. */
export const SERVICE_LABEL = 'flotilla.dev/service';
/** The run's analysisKey (revision, attempt, gate). */
export const ANALYSIS_KEY_LABEL = 'flotilla.dev/analysis-key';
