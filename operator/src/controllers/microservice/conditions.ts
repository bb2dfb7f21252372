// The MicroService's conditions: types, reasons (CamelCase constants) and the one rule that keeps
// lastTransitionTime while a condition's status does not flip (common/conditions.ts).
import { type ConditionLike, nextCondition } from '../../common/conditions.ts';

export type ConditionStatus = 'True' | 'False' | 'Unknown';

export type Condition = ConditionLike;

/** A condition before it is stamped with a transition time and generation. */
export interface ConditionFact {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
}

export const ConditionType = {
  Ready: 'Ready',
  Progressing: 'Progressing',
  Degraded: 'Degraded',
  RoutesReady: 'RoutesReady',
  /** Every ConfigMap and Secret the service references exists; only on services that reference some. */
  ConfigReady: 'ConfigReady',
} as const;

export const Reason = {
  /** Every pod of the current revision is available. */
  Available: 'Available',
  /** Nothing to wait for. */
  Idle: 'Idle',
  /** Nothing is wrong. */
  AsExpected: 'AsExpected',
  /** The service has not been Ready since it was created: its Deployment is being created or coming up. */
  Creating: 'Creating',
  /** A new pod template is being rolled out, or pods are not available yet. */
  RollingUpdate: 'RollingUpdate',
  /** The Deployment controller gave up: its progress deadline passed. */
  ProgressDeadlineExceeded: 'ProgressDeadlineExceeded',
  /** The spec is accepted by the CRD but cannot be turned into children; the message says why. */
  InvalidSpec: 'InvalidSpec',
  /** A child could not be written; the message names it and the API server's answer. */
  ApplyFailed: 'ApplyFailed',
  /** A route of the same name exists that Flotilla did not create; it is left alone. */
  RouteNotOwned: 'RouteNotOwned',
  /** Every referenced ConfigMap and Secret exists. */
  ConfigFound: 'ConfigFound',
  /** A referenced ConfigMap or Secret (not optional) does not exist; the message names it. */
  ConfigNotFound: 'ConfigNotFound',
} as const;

/** Reasons of the Events the reconciler records on the MicroService. */
export const EventReason = {
  Created: 'Created',
  Updated: 'Updated',
  DriftRepaired: 'DriftRepaired',
  Deleted: 'Deleted',
  InvalidSpec: 'InvalidSpec',
  ApplyFailed: 'ApplyFailed',
  DeleteFailed: 'DeleteFailed',
  RouteNotOwned: 'RouteNotOwned',
  ConfigNotFound: 'ConfigNotFound',
} as const;

/**
 * Conditions from facts, in the order given: `lastTransitionTime` is kept from `previous` while a
 * condition's status is unchanged, and set to `now` when it flips or is new.
 */
export function computeConditions(
  previous: readonly Condition[] | undefined,
  facts: readonly ConditionFact[],
  now: string,
  generation: number | undefined,
): Condition[] {
  return facts.map((fact) => nextCondition(previous, fact, now, generation));
}
