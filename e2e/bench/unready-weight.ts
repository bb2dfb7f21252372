// "Weight on unready pods": at every change of a VirtualService, the weight it gives to a canary
// revision that had no Ready pod at that moment. Every Deployment, Rollout and VirtualService
// version is recorded from the bench's watches with its resourceVersion; one etcd orders all
// three kinds, so "at that moment" is the last version of each written before the route's.
import type { KubeObject } from '../../operator/src/kube/objects.ts';

type Version = { resourceVersion: number; object: KubeObject };

const rvOf = (object: KubeObject) => Number(object.metadata.resourceVersion ?? 0);

export class UnreadyWeightProbe {
  private readonly versions = new Map<string, Version[]>();

  /** Records one watched version (call from a watch's listener). */
  record(object: KubeObject): void {
    const key = `${object.kind}/${object.metadata.name}`;
    const list = this.versions.get(key) ?? [];
    list.push({ resourceVersion: rvOf(object), object });
    this.versions.set(key, list);
  }

  private at(key: string, before: number): KubeObject | undefined {
    const list = this.versions.get(key) ?? [];
    let found: KubeObject | undefined;
    for (const version of list) if (version.resourceVersion < before) found = version.object;
    return found;
  }

  /** The route changes checked, and the largest canary weight that had no Ready pod behind it. */
  result(): { routeVersions: number; worstWeight: number } {
    let routeVersions = 0;
    let worstWeight = 0;
    for (const [key, list] of this.versions) {
      if (!key.startsWith('VirtualService/')) continue;
      const name = key.slice('VirtualService/'.length);
      for (const { resourceVersion, object } of list) {
        routeVersions++;
        const weight = canaryWeightOf(object);
        if (weight === 0) continue;
        const rollout = this.at(`Rollout/${name}`, resourceVersion) as
          | (KubeObject & { status?: { canaryRevision?: string } })
          | undefined;
        const canary = rollout?.status?.canaryRevision;
        const deployment = canary
          ? (this.at(`Deployment/${name}-${canary}`, resourceVersion) as KubeObject & {
              status?: { readyReplicas?: number };
            })
          : undefined;
        if ((deployment?.status?.readyReplicas ?? 0) === 0) worstWeight = Math.max(worstWeight, weight);
      }
    }
    return { routeVersions, worstWeight };
  }
}

function canaryWeightOf(vs: KubeObject): number {
  type Http = { route?: { destination?: { subset?: string }; weight?: number }[] };
  const http = ((vs as { spec?: { http?: Http[] } }).spec?.http ?? [])[0];
  return http?.route?.find((r) => r.destination?.subset === 'canary')?.weight ?? 0;
}
