// The MicroService's conditions and Events: types and reasons (CamelCase constants). The rule that
// stamps them is common/conditions.ts.
export type { Condition, ConditionFact, ConditionStatus } from '../common/conditions.ts';
export { computeConditions } from '../common/conditions.ts';

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
