// The seam for everything a service gets outside Kubernetes: one Provisioner per kind of backing
// service (a database, a cache, a broker user), all run in one loop by the MicroService reconcile.
// A provisioner reaches its server and writes what it must (its finalizer, the credentials Secret),
// and returns what it found for the plan and the Events to record; it records nothing itself and
// keeps no retry state: a failure that may pass says `retry`, and the work queue backs off.
import type { Logger } from 'pino';
import type { MicroService, MicroServiceStatus } from '../api/microservice.ts';
import type { EventRecord } from '../kube/events.ts';
import type { KubeObject } from '../kube/objects.ts';

/** The status fields backing services report in. */
export type ProvisionedField = 'database' | 'cache' | 'messaging';

export interface ProvisionedCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
}

export interface ProvisionContext {
  log: Logger;
  /** The service's children as observed (a dedicated database's StatefulSet). */
  children: readonly KubeObject[];
}

/** What a provisioner found: the plan's input, and what to say about it. */
export interface Provisioned<F extends ProvisionedField = ProvisionedField> {
  field: F;
  condition: ProvisionedCondition;
  /** status.<field>; undefined keeps the value it has (a failure does not forget what was provisioned). */
  status: MicroServiceStatus[F] | undefined;
  /** A short hash of the credentials the pods read: the pods roll when it changes. */
  credentialsHash?: string;
  events: EventRecord[];
  /** A failure that may pass by itself (a server down): run again, with the work queue's backoff. */
  retry: boolean;
}

/** What releasing left: done once nothing more is held (the finalizer is gone). */
export interface Released {
  done: boolean;
  events: EventRecord[];
  /** Not done: try again no later than this, a deadline the work queue's backoff must not overshoot. */
  retryNotAfterMs?: number;
}

export interface Provisioner<F extends ProvisionedField = ProvisionedField> {
  /** Which status field it reports in (one provisioner per field). */
  readonly field: F;
  /** Whether the service asks for what this provisioner makes. */
  wants(ms: MicroService): boolean;
  provision(ms: MicroService, context: ProvisionContext): Promise<Provisioned<F>>;
  /** Whether the service holds something of this provisioner's that must be released now. */
  mustRelease(ms: MicroService): boolean;
  release(ms: MicroService, context: ProvisionContext): Promise<Released>;
  /** The service no longer exists: anything remembered for it goes. */
  forget?(key: string): void;
  /** Closes its connections (at shutdown). */
  close?(): Promise<void>;
}
