// Kubernetes Events (core/v1), deduplicated by object and reason: the first occurrence creates an
// Event, the next ones within the window bump its count, message and lastTimestamp instead of
// creating new ones. Recording is best effort: a failure is reported to `onError`, never thrown
// into the reconcile. An Event recorded during a reconcile names it: `(reconcile <id>)` ends its
// message and the annotation flotilla.dev/reconcile-id holds the id, as the reconcile's log lines do.
import { type Clock, systemClock } from '../common/clock.ts';
import { currentReconcileId } from '../common/reconcile-context.ts';
import { formatKubeTime } from './canonical.ts';
import type { KubeClient } from './client.ts';
import { isNotFound } from './errors.ts';
import { apiVersionOf, eventType, type KubeObject, type ResourceType } from './objects.ts';

export type EventKind = 'Normal' | 'Warning';

/** The annotation of an Event that holds the id of the reconcile that recorded it. */
export const RECONCILE_ID_ANNOTATION = 'flotilla.dev/reconcile-id';

/** The message and annotations of `event` as recorded by the reconcile `reconcileId` (if any). */
function stamped(event: EventRecord, reconcileId: string | undefined) {
  if (reconcileId === undefined) return { message: event.message, annotations: undefined };
  return {
    message: `${event.message} (reconcile ${reconcileId})`,
    annotations: { [RECONCILE_ID_ANNOTATION]: reconcileId },
  };
}

export interface EventRecord {
  type: EventKind;
  /** CamelCase, e.g. `ProgressDeadlineExceeded`. */
  reason: string;
  message: string;
}

interface Series {
  name: string;
  namespace: string;
  count: number;
  lastSeen: number;
}

export interface EventRecorderOptions {
  component?: string;
  clock?: Clock;
  /** A repeat after this long starts a new Event. */
  windowMs?: number;
  /** Series remembered at most; the oldest is forgotten first. */
  maxSeries?: number;
  onError?: (error: unknown, event: EventRecord) => void;
}

export class EventRecorder {
  private readonly client: KubeClient;
  private readonly component: string;
  private readonly clock: Clock;
  private readonly windowMs: number;
  private readonly maxSeries: number;
  private readonly onError: (error: unknown, event: EventRecord) => void;
  /** Per series key, the last write, chained so that two records of one series never race. */
  private readonly series = new Map<string, Promise<Series | undefined>>();

  constructor(client: KubeClient, options: EventRecorderOptions = {}) {
    this.client = client;
    this.component = options.component ?? 'flotilla';
    this.clock = options.clock ?? systemClock;
    this.windowMs = options.windowMs ?? 10 * 60_000;
    this.maxSeries = options.maxSeries ?? 4096;
    this.onError = options.onError ?? (() => {});
  }

  /** Records `event` about `object` (of `type`); resolves once written (or failed). */
  record(type: ResourceType, object: KubeObject, event: EventRecord): Promise<void> {
    const key = `${object.metadata.uid ?? object.metadata.name}\u0000${event.type}\u0000${event.reason}`;
    const previous = this.series.get(key) ?? Promise.resolve(undefined);
    const reconcileId = currentReconcileId();
    const next = previous.then((last) =>
      this.write(type, object, event, last, reconcileId).catch((error: unknown) => {
        this.onError(error, event);
        return last;
      }),
    );
    this.series.delete(key);
    this.series.set(key, next);
    if (this.series.size > this.maxSeries) {
      const oldest = this.series.keys().next().value;
      if (oldest !== undefined) this.series.delete(oldest);
    }
    return next.then(() => undefined);
  }

  private async write(
    type: ResourceType,
    object: KubeObject,
    event: EventRecord,
    last: Series | undefined,
    reconcileId: string | undefined,
  ): Promise<Series> {
    const now = this.clock.now();
    const { message, annotations } = stamped(event, reconcileId);
    const timestamp = formatKubeTime(new Date(now));
    if (last && now - last.lastSeen < this.windowMs) {
      const count = last.count + 1;
      try {
        await this.client.mergePatch(eventType, last.name, last.namespace, {
          ...(annotations ? { metadata: { annotations } } : {}),
          count,
          message,
          lastTimestamp: timestamp,
        });
        return { ...last, count, lastSeen: now };
      } catch (error) {
        if (!isNotFound(error)) throw error;
        // the Event expired on the server (TTL): start a new one
      }
    }
    const namespace = object.metadata.namespace ?? 'default';
    const name = `${object.metadata.name}.${now.toString(16)}${Math.floor(Math.random() * 0xfff).toString(16)}`;
    await this.client.create(eventType, {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace, ...(annotations ? { annotations } : {}) },
      involvedObject: {
        apiVersion: object.apiVersion ?? apiVersionOf(type),
        kind: object.kind ?? type.kind,
        name: object.metadata.name,
        namespace: object.metadata.namespace,
        uid: object.metadata.uid,
        resourceVersion: object.metadata.resourceVersion,
      },
      type: event.type,
      reason: event.reason,
      message,
      count: 1,
      firstTimestamp: timestamp,
      lastTimestamp: timestamp,
      source: { component: this.component },
      reportingComponent: this.component,
      reportingInstance: this.component,
    });
    return { name, namespace, count: 1, lastSeen: now };
  }
}
