// Errors from the API server, and the one classification the work queue and the reflector act on.

/** A `metav1.Status` as the API server returns it with a failed request. */
export interface ApiStatus {
  kind?: string;
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: { causes?: Array<{ reason?: string; message?: string; field?: string }>; retryAfterSeconds?: number };
}

export class KubeApiError extends Error {
  readonly statusCode: number;
  readonly status: ApiStatus;
  readonly verb: string;
  readonly path: string;

  constructor(verb: string, path: string, statusCode: number, status: ApiStatus) {
    super(`${verb} ${path}: ${statusCode} ${status.reason ?? ''} ${status.message ?? ''}`.trim());
    this.name = 'KubeApiError';
    this.verb = verb;
    this.path = path;
    this.statusCode = statusCode;
    this.status = status;
  }
}

export type ErrorClass = 'notFound' | 'conflict' | 'gone' | 'forbidden' | 'invalid' | 'transient';

/**
 * What kind of failure `error` is:
 * - notFound: the object (or its kind) does not exist;
 * - conflict: a stale resourceVersion or an object that already exists — retry at once from fresh state;
 * - gone: the resourceVersion is too old (410) or too new for this server — relist;
 * - forbidden: 401/403 — retry slowly, a human must act;
 * - invalid: 400/415/422 — our request is wrong, retry slowly;
 * - transient: everything else (network errors, timeouts, 429, 5xx) — retry with backoff.
 */
export function classifyError(error: unknown): ErrorClass {
  if (!(error instanceof KubeApiError)) return 'transient';
  const { statusCode, status } = error;
  if (statusCode === 410 || isResourceVersionTooLarge(status)) return 'gone';
  if (statusCode === 404) return 'notFound';
  if (statusCode === 409) return 'conflict';
  if (statusCode === 401 || statusCode === 403) return 'forbidden';
  if (statusCode === 400 || statusCode === 415 || statusCode === 422) return 'invalid';
  return 'transient';
}

/** The API server's answer to a list or watch from a resourceVersion it has not reached yet. */
export function isResourceVersionTooLarge(status: ApiStatus): boolean {
  if (status.details?.causes?.some((cause) => cause.reason === 'ResourceVersionTooLarge')) return true;
  return /too large resource version/i.test(status.message ?? '');
}

export function isNotFound(error: unknown): boolean {
  return classifyError(error) === 'notFound';
}

export function isConflict(error: unknown): boolean {
  return classifyError(error) === 'conflict';
}

/**
 * The API server refused a create because the namespace is being deleted (the NamespaceLifecycle
 * admission plugin): not a failure of ours, and nothing to retry.
 */
export function isNamespaceTerminating(error: unknown): boolean {
  if (!(error instanceof KubeApiError) || error.statusCode !== 403) return false;
  return error.status.details?.causes?.some((cause) => cause.reason === 'NamespaceTerminating') === true;
}

/** A reconcile stopped because its namespace is being deleted: it writes nothing more there. */
export class NamespaceTerminatingError extends Error {
  readonly namespace: string;

  constructor(namespace: string) {
    super(`namespace ${namespace} is being deleted`);
    this.name = 'NamespaceTerminatingError';
    this.namespace = namespace;
  }
}
