// apply: makes each child match the plan with server-side apply (field manager `flotilla`, force;
// a minimal object, so fields others own stay theirs), deletes the children no longer wanted
// (only ours: they come from the labelled caches), and records an Event for every create, update,
// repair, deletion and failure. A failure of one child does not stop the others.
import type { Logger } from 'pino';
import { type KubeClient, WritesFencedError } from '../../kube/client.ts';
import { isNamespaceTerminating, isNotFound, NamespaceTerminatingError } from '../../kube/errors.ts';
import type { EventRecord } from '../../kube/events.ts';
import type { KubeObject } from '../../kube/objects.ts';
import { EventReason } from '../../release/conditions.ts';
import type { WriteTracker } from '../../runtime/write-tracker.ts';
import { type ApplyReason, type ChildApply, childId, type Plan } from './plan.ts';
import { childTypeOf } from './resources.ts';

export interface ApplyDeps {
  client: KubeClient;
  tracker: WriteTracker;
  log: Logger;
}

export interface ApplyOutcome {
  /** One line per child that could not be written or deleted. */
  failures: string[];
  /** Events to record on the MicroService, one per reason. */
  events: EventRecord[];
}

const VERB: Record<ApplyReason, { reason: string; text: (id: string) => string }> = {
  create: { reason: EventReason.Created, text: (id) => `created ${id}` },
  update: { reason: EventReason.Updated, text: (id) => `updated ${id}` },
  restore: { reason: EventReason.DriftRepaired, text: (id) => `restored ${id}, which was deleted by someone else` },
  repair: { reason: EventReason.DriftRepaired, text: (id) => `repaired ${id}: fields Flotilla owns had been edited` },
};

const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/**
 * The replicas to hold before an apply that stops declaring a Deployment's spec.replicas (an HPA
 * takes it over): server-side apply would remove a field its one owner drops, and the Deployment
 * would fall to the default of 1 until the HPA acts.
 */
export function replicasToHold(change: ChildApply): number | undefined {
  if (change.object.kind !== 'Deployment' || !change.observed) return undefined;
  const desired = (change.object.spec as { replicas?: number } | undefined)?.replicas;
  const observed = (change.observed.spec as { replicas?: number } | undefined)?.replicas;
  return desired === undefined ? observed : undefined;
}

type ServicePort = { name?: string; port: number; protocol?: string };
const portsOf = (object: KubeObject | undefined): ServicePort[] =>
  ((object?.spec as { ports?: ServicePort[] } | undefined)?.ports ?? []) as ServicePort[];

/**
 * The ports a Service must have before it can be applied again, when a hand edit changed the number of
 * one of its ports: an apply would add Flotilla's port beside the edited one, and the API server refuses
 * two ports of one name. The observed ports, each edited one replaced by Flotilla's, others' kept.
 */
export function portsToRestore(change: ChildApply): ServicePort[] | undefined {
  if (change.object.kind !== 'Service' || !change.observed) return undefined;
  const desired = portsOf(change.object);
  const observed = portsOf(change.observed);
  const ours = (port: ServicePort) =>
    desired.find((d) => (d.name ?? '') === (port.name ?? '') && (d.protocol ?? 'TCP') === (port.protocol ?? 'TCP'));
  const edited = observed.filter((port) => {
    const wanted = ours(port);
    return wanted !== undefined && wanted.port !== port.port;
  });
  if (edited.length === 0) return undefined;
  return observed.map((port) => (edited.includes(port) ? (ours(port) as ServicePort) : port));
}

async function applyChild(deps: ApplyDeps, change: ChildApply): Promise<string | undefined> {
  const id = childId(change.object);
  try {
    const hold = replicasToHold(change);
    if (hold !== undefined) {
      // A plain update (not an apply) keeps the field owned, so the apply below leaves it in place.
      const { name, namespace } = change.object.metadata;
      await deps.client.mergePatch(change.type, name ?? '', namespace, { spec: { replicas: hold } });
    }
    const ports = portsToRestore(change);
    if (ports) {
      // A merge patch replaces the whole list, which an apply cannot: the edited port goes.
      const { name, namespace } = change.object.metadata;
      await deps.client.mergePatch(change.type, name ?? '', namespace, { spec: { ports } });
    }
    const result = await deps.client.apply<KubeObject>(change.type, change.object);
    deps.tracker.wrote(result, change.type.kind);
    deps.log.info({ child: id, why: change.why }, 'applied child');
    return undefined;
  } catch (error) {
    if (error instanceof WritesFencedError) throw error;
    if (isNamespaceTerminating(error)) throw new NamespaceTerminatingError(change.object.metadata.namespace ?? '');
    deps.log.warn({ child: id, err: error }, 'apply failed');
    return `${id}: ${describe(error)}`;
  }
}

async function deleteChild(deps: ApplyDeps, child: KubeObject): Promise<string | undefined> {
  const id = childId(child);
  const type = childTypeOf(child.kind);
  if (!type) return `${id}: unknown kind`;
  try {
    deps.tracker.deleting(child);
    const { uid } = child.metadata;
    await deps.client.delete(type, child.metadata.name ?? '', child.metadata.namespace, {
      propagationPolicy: 'Background',
      ...(uid ? { preconditions: { uid } } : {}),
    });
    deps.log.info({ child: id }, 'deleted child no longer wanted');
    return undefined;
  } catch (error) {
    if (isNotFound(error)) return undefined;
    if (error instanceof WritesFencedError) throw error;
    deps.log.warn({ child: id, err: error }, 'delete failed');
    return `${id}: ${describe(error)}`;
  }
}

/** The kinds that decide where requests go: Services (blue-green's selector) and mesh routes. */
const TRAFFIC_KINDS = new Set(['Service', 'VirtualService', 'DestinationRule', 'HTTPRoute']);

/**
 * Traffic first, then workloads: an abort or a step back takes the weight off a revision before its
 * pods are scaled down, and a weight is only ever given to pods already Ready (strategy/), so no
 * request is sent to a pod that is going or not yet there.
 */
async function applyInOrder(deps: ApplyDeps, changes: ChildApply[]): Promise<(string | undefined)[]> {
  const results = new Map<ChildApply, string | undefined>();
  const isTraffic = (change: ChildApply) => TRAFFIC_KINDS.has(change.object.kind ?? '');
  for (const wave of [changes.filter(isTraffic), changes.filter((change) => !isTraffic(change))]) {
    const outcomes = await Promise.all(wave.map(async (change) => [change, await applyChild(deps, change)] as const));
    for (const [change, outcome] of outcomes) results.set(change, outcome);
  }
  return changes.map((change) => results.get(change));
}

/** Writes the plan's children and deletions; returns the failures and the Events to record. */
export async function applyPlan(deps: ApplyDeps, plan: Plan): Promise<ApplyOutcome> {
  const applied = await applyInOrder(deps, plan.apply);
  const deleted = await Promise.all(plan.delete.map((child) => deleteChild(deps, child)));

  const byReason = new Map<string, string[]>();
  const note = (reason: string, text: string) => byReason.set(reason, [...(byReason.get(reason) ?? []), text]);
  plan.apply.forEach((change, index) => {
    if (applied[index] === undefined) note(VERB[change.why].reason, VERB[change.why].text(childId(change.object)));
  });
  plan.delete.forEach((child, index) => {
    if (deleted[index] === undefined) note(EventReason.Deleted, `deleted ${childId(child)}, no longer wanted`);
  });
  const events: EventRecord[] = [...byReason].map(([reason, texts]) => ({
    type: 'Normal',
    reason,
    message: capitalize(texts.join('; ')),
  }));
  const applyFailures = applied.filter((f) => f !== undefined);
  const deleteFailures = deleted.filter((f) => f !== undefined);
  if (applyFailures.length > 0) {
    events.push({
      type: 'Warning',
      reason: EventReason.ApplyFailed,
      message: `Could not apply ${applyFailures.join('; ')}`,
    });
  }
  if (deleteFailures.length > 0) {
    events.push({
      type: 'Warning',
      reason: EventReason.DeleteFailed,
      message: `Could not delete ${deleteFailures.join('; ')}`,
    });
  }
  return { failures: [...applyFailures, ...deleteFailures], events };
}

const capitalize = (text: string): string => text.charAt(0).toUpperCase() + text.slice(1);
