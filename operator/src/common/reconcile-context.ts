// The id of the reconcile in progress, carried across its awaits (AsyncLocalStorage), so that what
// it causes far from its logger — an Event — can name it too: one release is then followed from a
// log line to the Event by one id.
import { AsyncLocalStorage } from 'node:async_hooks';

const storage = new AsyncLocalStorage<{ reconcileId: string }>();

/** Runs `work` as the reconcile `reconcileId`. */
export function runAsReconcile<T>(reconcileId: string, work: () => T): T {
  return storage.run({ reconcileId }, work);
}

/** The id of the reconcile the caller runs in, if any. */
export function currentReconcileId(): string | undefined {
  return storage.getStore()?.reconcileId;
}
