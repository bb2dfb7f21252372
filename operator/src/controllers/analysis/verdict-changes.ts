// Which AnalysisRun changes concern the release: a new run, or a change of its phase or of a
// metric's phase. A measurement that changes no verdict is the run's own business (its status has
// it); reconciling the service for each one would cost a reconcile and a Rollout status write per
// measurement.

import { SERVICE_LABEL } from '../../analysis/resources.ts';
import type { AnalysisRunStatus } from '../../api/analysis.ts';
import { type KubeObject, objectKey } from '../../kube/objects.ts';

/** Runs remembered at most; past it the memory starts over (each run is then seen as new once). */
const REMEMBERED = 10_000;

/** The verdicts of a run: its phase and each metric's. */
export function verdictsOf(run: KubeObject): string {
  const status = run.status as AnalysisRunStatus | undefined;
  const metrics = (status?.metricResults ?? []).map((result) => `${result.name}=${result.phase}`);
  return [run.metadata.uid ?? '', status?.phase ?? 'Pending', ...metrics].join(' ');
}

export class VerdictChanges {
  private readonly seen = new Map<string, string>();

  /** The service to reconcile for this run's change: its own, when a verdict changed; none otherwise. */
  readonly keysFor = (run: KubeObject): string[] => {
    const service = run.metadata.labels?.[SERVICE_LABEL];
    if (!service) return [];
    const name = objectKey(run);
    const verdicts = verdictsOf(run);
    if (this.seen.get(name) === verdicts) return [];
    if (this.seen.size >= REMEMBERED) this.seen.clear();
    this.seen.set(name, verdicts);
    return [objectKey({ metadata: { name: service, namespace: run.metadata.namespace } })];
  };
}
