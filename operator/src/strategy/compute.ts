// The arithmetic of releases: replica counts, traffic weights and deadlines. Pure functions of
// numbers, each with worked examples in its comment and table tests in compute.test.ts.
import type { TrafficWeight } from './types.ts';

/**
 * Pods of the canary at `weight` percent when the stable revision has `stableReplicas` pods (with
 * an HPA: its current replicas). Never fewer than 1 while the stable has pods, never more than it.
 *
 * - `weighted` (a mesh splits traffic): the canary gets its share of the stable's capacity,
 *   ceil(weight × stable / 100). 10 % of 4 → 1; 50 % of 4 → 2; 30 % of 10 → 3; 0 % of 4 → 1.
 * - `replicas` (no mesh: the Service spreads requests evenly over all pods, and the stable is never
 *   scaled down while it serves): the canary's share is c / (stable + c), so
 *   c = ceil(stable × weight / (100 − weight)), capped at the stable's count (50 % at most).
 *   10 % of 9 → 1; 25 % of 6 → 2; 50 % of 4 → 4; 80 % of 4 → 4.
 */
export function computeCanaryReplicas(weight: number, stableReplicas: number, mode: 'weighted' | 'replicas'): number {
  if (stableReplicas <= 0) return 0;
  const share = clampPercent(weight);
  const wanted =
    mode === 'weighted'
      ? Math.ceil((share * stableReplicas) / 100)
      : share >= 100
        ? stableReplicas
        : Math.ceil((stableReplicas * share) / (100 - share));
  return Math.min(stableReplicas, Math.max(1, wanted));
}

/**
 * The share of requests the canary actually receives when the split is made by pod counts:
 * round(100 × canary / (stable + canary)). 1 canary beside 9 stable → 10; 4 beside 4 → 50.
 */
export function computeReplicaShare(canaryReplicas: number, stableReplicas: number): number {
  const total = canaryReplicas + stableReplicas;
  return total === 0 ? 0 : Math.round((100 * canaryReplicas) / total);
}

/**
 * The largest share of requests (percent) that `readyPods` Ready pods of a revision can carry beside
 * a stable revision of `stableReplicas` pods. Traffic moves to a revision only this far.
 *
 * - `weighted`: each Ready pod carries what a stable pod does, floor(100 × ready / stable), at most
 *   100. 0 Ready → 0; 1 beside 4 → 25; 3 beside 10 → 30; 2 beside 2 → 100.
 * - `replicas`: the Service spreads requests over Ready pods only, so the share is
 *   computeReplicaShare(ready, stable). 0 Ready → 0; 1 beside 9 → 10; 4 beside 4 → 50.
 *
 * At the pods computeCanaryReplicas asks for, all Ready, this is at least the weight asked for.
 */
export function computeCarriedWeight(readyPods: number, stableReplicas: number, mode: 'weighted' | 'replicas'): number {
  if (readyPods <= 0) return 0;
  if (stableReplicas <= 0) return 100;
  if (mode === 'replicas') return computeReplicaShare(readyPods, stableReplicas);
  return Math.min(100, Math.floor((100 * readyPods) / stableReplicas));
}

/** Stable and canary weights for a canary at `canaryWeight` percent: always two entries summing to 100. */
export function computeWeights(stable: string, canary: string, canaryWeight: number): TrafficWeight[] {
  const weight = clampPercent(canaryWeight);
  return [
    { revision: stable, weight: 100 - weight },
    { revision: canary, weight },
  ];
}

function clampPercent(value: number): number {
  return Math.min(100, Math.max(0, Math.round(value)));
}

/**
 * A pod count or a percentage of `total`, as Kubernetes reads maxSurge (rounded up) and
 * maxUnavailable (rounded down). '25%' of 10 → 3 up, 2 down; 2 → 2.
 */
export function resolveCountOrPercent(value: number | string, total: number, round: 'up' | 'down'): number {
  if (typeof value === 'number') return Math.max(0, Math.floor(value));
  const match = /^([0-9]+)%$/.exec(value);
  if (!match) return Math.max(0, Math.floor(Number(value)) || 0);
  const exact = (Number(match[1]) * total) / 100;
  return round === 'up' ? Math.ceil(exact) : Math.floor(exact);
}

export interface RollingPods {
  /** Pods asked for (the Deployment's spec.replicas). */
  replicas: number;
  readyReplicas: number;
}

export interface RollingBounds {
  /** Pods the service should end with. */
  total: number;
  maxSurge: number | string;
  maxUnavailable: number | string;
}

/**
 * One step of a rolling update from `from` to `to`, as the Deployment controller takes it:
 * `to` grows while all pods stay within total + maxSurge; `from` shrinks while the Ready pods stay
 * at least total − maxUnavailable (the ReplicaSet controller removes not-Ready pods first, so
 * taking away `from.replicas + to.ready − minAvailable` pods keeps exactly minAvailable Ready).
 * Both zero is read as maxUnavailable 1, as Kubernetes does, so the update can always move.
 *
 * total 4, surge 25 % (1), unavailable 0: from 4/4, to 0/0 → to 1; from 4, to 1/1 → from 3, to 1;
 * from 3/3, to 1/1 → to 2; … from 0, to 4.
 */
export function computeRollingReplicas(bounds: RollingBounds, from: RollingPods, to: RollingPods) {
  const { total } = bounds;
  const maxSurge = resolveCountOrPercent(bounds.maxSurge, total, 'up');
  let maxUnavailable = resolveCountOrPercent(bounds.maxUnavailable, total, 'down');
  if (maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;

  const room = total + maxSurge - (from.replicas + to.replicas);
  const toReplicas = Math.min(total, to.replicas + Math.max(0, Math.min(room, total - to.replicas)));

  const minAvailable = Math.max(0, total - maxUnavailable);
  const toReady = Math.min(to.readyReplicas, toReplicas);
  const removable = toReady >= total ? from.replicas : from.replicas + toReady - minAvailable;
  const fromReplicas = Math.max(0, from.replicas - Math.max(0, removable));
  return { from: fromReplicas, to: toReplicas };
}

/** Milliseconds left until `start` + `durationMs`, from `now`; 0 or less when the time has come. */
export function computeTimeLeft(start: string, durationMs: number, now: number): number {
  return Date.parse(start) + durationMs - now;
}
