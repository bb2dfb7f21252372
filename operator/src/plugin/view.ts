// What `kubectl flotilla get` shows of one service, built from the objects read from the cluster by a
// pure function (`now` passed in), so that the tree is tested from recorded objects. The same model
// is the `-o json|yaml` output.
import type { MicroService } from '../api/microservice.ts';
import type { Rollout } from '../api/rollout.ts';
import { REVISION_LABEL } from '../desired/meta.ts';
import type { KubeObject } from '../kube/objects.ts';

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

/** Everything read of one service; absent kinds (no mesh, no Rollout) are undefined or empty. */
export interface ServiceObjects {
  namespace: string;
  name: string;
  microService?: MicroService;
  rollout?: Rollout;
  deployments: KubeObject[];
  replicaSets: KubeObject[];
  pods: KubeObject[];
  virtualService?: KubeObject;
  httpRoute?: KubeObject;
}

export interface ConditionView {
  type: string;
  status: string;
  reason: string;
  message: string;
}

export interface PodView {
  name: string;
  ready: boolean;
  /** Running, Pending, or a container's waiting reason (CrashLoopBackOff). */
  state: string;
  restarts: number;
  age: string;
}

export interface RevisionView {
  role: string;
  revision: string;
  deployment: string;
  image: string;
  ready: number;
  desired: number;
  pods: PodView[];
}

export interface RouteView {
  router: 'istio' | 'gatewayAPI';
  object: string;
  hosts: string[];
  /** `stable:90`, `canary:10` — as the route holds them. */
  weights: { backend: string; weight: number }[];
}

export interface RolloutView {
  name: string;
  strategy: string;
  phase: string;
  message: string;
  /** 1-based step being carried out, and the number of steps (canary only). */
  step?: { current: number; total: number; what: string };
  /** The canary's weight as the Rollout's status sets it. */
  weight?: number;
  paused: boolean;
  lastAction?: { action: string; message: string; age: string };
  conditions: ConditionView[];
  /** The analysis runs the release waits on (the Rollout's status.analysisRuns). */
  analysisRuns: AnalysisRunView[];
}

export interface AnalysisRunView {
  name: string;
  gate: string;
  phase: string;
  message?: string;
  metrics: { name: string; phase: string; lastValue?: string; condition?: string; dryRun?: boolean }[];
}

export interface ServiceView {
  namespace: string;
  name: string;
  found: boolean;
  image: string;
  ready: number;
  replicas: number;
  url?: string;
  conditions: ConditionView[];
  rollout?: RolloutView;
  revisions: RevisionView[];
  routes: RouteView[];
  database?: { ready?: ConditionView; secret?: string; server?: string; name?: string };
  cache?: { ready?: ConditionView; secret?: string; server?: string };
  messaging?: { ready?: ConditionView; secret?: string; server?: string; user?: string };
}

const conditionView = (c: Condition): ConditionView => ({
  type: c.type,
  status: c.status,
  reason: c.reason ?? '',
  message: c.message ?? '',
});

/** kubectl's age: 45s, 12m, 3h, 5d. */
export function formatAge(since: string | undefined, now: Date): string {
  if (!since) return '';
  const seconds = Math.max(0, Math.floor((now.getTime() - Date.parse(since)) / 1000));
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 172800) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86400)}d`;
}

type Json = Record<string, unknown>;
const field = <T>(object: unknown, ...path: string[]): T | undefined => {
  let value: unknown = object;
  for (const key of path) value = (value as Json | undefined)?.[key];
  return value as T | undefined;
};

export function buildServiceView(objects: ServiceObjects, now: Date): ServiceView {
  const { microService: ms, rollout } = objects;
  const msConditions = (ms?.status?.conditions ?? []).map(conditionView);
  const byType = (type: string) => msConditions.find((c) => c.type === type);
  return {
    namespace: objects.namespace,
    name: objects.name,
    found: ms !== undefined,
    image: ms?.spec.image ?? '',
    ready: ms?.status?.readyReplicas ?? 0,
    replicas: ms?.status?.replicas ?? 0,
    ...(ms?.status?.url ? { url: ms.status.url } : {}),
    conditions: msConditions,
    ...(rollout ? { rollout: buildRolloutView(rollout, now) } : {}),
    revisions: buildRevisions(objects, now),
    routes: buildRoutes(objects),
    ...(ms?.spec.database
      ? {
          database: {
            ready: byType('DatabaseReady'),
            secret: ms.status?.database?.secretName,
            server: ms.spec.database.serverRef ?? (ms.spec.database.instance === 'dedicated' ? 'dedicated' : undefined),
            name: ms.status?.database?.name,
          },
        }
      : {}),
    ...(ms?.spec.cache
      ? {
          cache: { ready: byType('CacheReady'), secret: ms.status?.cache?.secretName, server: ms.spec.cache.serverRef },
        }
      : {}),
    ...(ms?.spec.messaging
      ? {
          messaging: {
            ready: byType('MessagingReady'),
            secret: ms.status?.messaging?.secretName,
            server: ms.spec.messaging.serverRef,
            user: ms.status?.messaging?.username,
          },
        }
      : {}),
  };
}

function buildRolloutView(rollout: Rollout, now: Date): RolloutView {
  const status = rollout.status ?? {};
  const steps = rollout.spec.strategy.canary?.steps;
  const strategy =
    status.strategy ??
    (rollout.spec.strategy.canary ? 'Canary' : rollout.spec.strategy.blueGreen ? 'BlueGreen' : 'Rolling');
  let step: RolloutView['step'];
  // The step means something only while a release moves or waits.
  const moving = status.phase === 'Progressing' || status.phase === 'Paused';
  if (steps && status.currentStepIndex !== undefined && moving) {
    const index = Math.min(status.currentStepIndex, steps.length);
    const current = steps[index];
    const what =
      current === undefined
        ? 'done'
        : current.setWeight !== undefined
          ? `setWeight ${current.setWeight}`
          : current.pause?.duration
            ? `pause ${current.pause.duration}`
            : 'pause until promoted';
    step = { current: Math.min(index + 1, steps.length), total: steps.length, what };
  }
  const last = status.lastAction;
  return {
    name: rollout.metadata.name ?? '',
    strategy,
    phase: status.phase ?? 'Unknown',
    message: status.message ?? '',
    ...(step ? { step } : {}),
    ...(status.canaryWeight !== undefined && status.canaryRevision ? { weight: status.canaryWeight } : {}),
    paused: rollout.spec.paused === true,
    ...(last
      ? { lastAction: { action: last.action, message: last.message ?? '', age: formatAge(last.time, now) } }
      : {}),
    conditions: (status.conditions ?? []).map(conditionView),
    analysisRuns: (status.analysisRuns ?? []).map((run) => ({
      name: run.name,
      gate: run.gate,
      phase: run.phase,
      ...(run.message ? { message: run.message } : {}),
      metrics: run.metrics ?? [],
    })),
  };
}

function roleOf(revision: string, rollout: Rollout | undefined, deploymentName: string, service: string): string {
  const status = rollout?.status;
  const blueGreen = rollout?.spec.strategy.blueGreen !== undefined;
  if (!status) return deploymentName === service ? 'stable' : '';
  if (revision && revision === status.canaryRevision) return blueGreen ? 'preview' : 'canary';
  if (revision && revision === status.scaleDown?.revision) return 'previous';
  if ((revision && revision === status.stableRevision) || deploymentName === service) {
    return blueGreen ? 'active' : 'stable';
  }
  return 'old';
}

const ROLE_ORDER = ['stable', 'active', 'canary', 'preview', 'previous', 'old', ''];

function buildRevisions(objects: ServiceObjects, now: Date): RevisionView[] {
  const ownerOf = (object: KubeObject) => object.metadata.ownerReferences?.find((o) => o.controller)?.uid;
  return objects.deployments
    .map((deployment) => {
      const name = deployment.metadata.name ?? '';
      const revision = deployment.metadata.labels?.[REVISION_LABEL] ?? '';
      const replicaSets = new Set(
        objects.replicaSets.filter((rs) => ownerOf(rs) === deployment.metadata.uid).map((rs) => rs.metadata.uid),
      );
      const containers = field<{ image?: string }[]>(deployment, 'spec', 'template', 'spec', 'containers') ?? [];
      return {
        role: roleOf(revision, objects.rollout, name, objects.name),
        revision,
        deployment: name,
        image: containers[0]?.image ?? '',
        ready: field<number>(deployment, 'status', 'readyReplicas') ?? 0,
        desired: field<number>(deployment, 'spec', 'replicas') ?? 0,
        pods: objects.pods
          .filter((pod) => replicaSets.has(ownerOf(pod)))
          .map((pod) => buildPod(pod, now))
          .sort((a, b) => a.name.localeCompare(b.name)),
      };
    })
    .sort(
      (a, b) => ROLE_ORDER.indexOf(a.role) - ROLE_ORDER.indexOf(b.role) || a.deployment.localeCompare(b.deployment),
    );
}

function buildPod(pod: KubeObject, now: Date): PodView {
  type ContainerStatus = { ready?: boolean; restartCount?: number; state?: { waiting?: { reason?: string } } };
  const statuses = field<ContainerStatus[]>(pod, 'status', 'containerStatuses') ?? [];
  const conditions = field<Condition[]>(pod, 'status', 'conditions') ?? [];
  const waiting = statuses.find((s) => s.state?.waiting?.reason)?.state?.waiting?.reason;
  const terminating = pod.metadata.deletionTimestamp ? 'Terminating' : undefined;
  return {
    name: pod.metadata.name ?? '',
    ready: conditions.some((c) => c.type === 'Ready' && c.status === 'True'),
    state: terminating ?? waiting ?? field<string>(pod, 'status', 'phase') ?? 'Unknown',
    restarts: statuses.reduce((sum, s) => sum + (s.restartCount ?? 0), 0),
    age: formatAge(pod.metadata.creationTimestamp, now),
  };
}

function buildRoutes(objects: ServiceObjects): RouteView[] {
  const routes: RouteView[] = [];
  const vs = objects.virtualService;
  if (vs) {
    type Http = { name?: string; route?: { destination?: { host?: string; subset?: string }; weight?: number }[] };
    const http = field<Http[]>(vs, 'spec', 'http') ?? [];
    const mesh = http.find((h) => h.name === 'mesh') ?? http[0];
    routes.push({
      router: 'istio',
      object: `VirtualService ${vs.metadata.name}`,
      hosts: [...new Set([...(field<string[]>(vs, 'spec', 'hosts') ?? [])])],
      weights: (mesh?.route ?? []).map((r) => ({
        backend: r.destination?.subset ?? r.destination?.host ?? '-',
        weight: r.weight ?? 100,
      })),
    });
  }
  const route = objects.httpRoute;
  if (route) {
    type Rule = { backendRefs?: { name?: string; weight?: number }[] };
    const rule = (field<Rule[]>(route, 'spec', 'rules') ?? [])[0];
    routes.push({
      router: 'gatewayAPI',
      object: `HTTPRoute ${route.metadata.name}`,
      hosts: field<string[]>(route, 'spec', 'hostnames') ?? [],
      weights: (rule?.backendRefs ?? []).map((b) => ({ backend: b.name ?? '-', weight: b.weight ?? 1 })),
    });
  }
  return routes;
}
