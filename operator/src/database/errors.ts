// Turning driver errors into a condition reason and a message that never contains a password.
import { InvalidIdentifierError } from './identifiers.ts';
import { OwnershipConflictError } from './ownership.ts';
import type { ConnectionCheck, ConnectionFailureReason } from './types.ts';

interface DriverError {
  code?: unknown;
  errno?: unknown;
  message?: unknown;
  sqlMessage?: unknown;
}

const REDACTED = '[redacted]';

/** Replaces every occurrence of each secret (and its URL-encoded form) in `text`. */
export function redact(text: string, secrets: readonly string[]): string {
  let result = text;
  for (const secret of secrets) {
    if (!secret) continue;
    for (const form of new Set([secret, encodeURIComponent(secret)])) result = result.replaceAll(form, REDACTED);
  }
  return result;
}

/** Maps an error from `pg` or `mysql2` to a reason; the message is redacted of `secrets`. Pure. */
export function classifyConnectionError(
  error: unknown,
  where: string,
  secrets: readonly string[],
): { reason: ConnectionFailureReason; message: string } {
  const e = (typeof error === 'object' && error !== null ? error : {}) as DriverError;
  const code = typeof e.code === 'string' ? e.code : '';
  const errno = typeof e.errno === 'number' ? e.errno : undefined;
  const raw = String(e.sqlMessage ?? e.message ?? error);
  const detail = redact(raw, secrets);
  const say = (reason: ConnectionFailureReason, text: string) => ({ reason, message: redact(text, secrets) });
  if (code === '28P01' || code === '28000' || code === 'ER_ACCESS_DENIED_ERROR' || errno === 1045) {
    return say('AuthenticationFailed', `the server at ${where} refused the admin credentials: ${detail}`);
  }
  if (code === '42501' || code === 'ER_DBACCESS_DENIED_ERROR' || errno === 1044 || errno === 1227) {
    return say('InsufficientPrivileges', `the admin user lacks a privilege on ${where}: ${detail}`);
  }
  if (code === 'ECONNREFUSED') return say('ConnectionRefused', `nothing accepts connections at ${where}`);
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return say('HostNotFound', `the host of ${where} is not found`);
  if (code === 'ETIMEDOUT' || /timeout/i.test(raw)) {
    return say('ConnectTimeout', `connecting to ${where} timed out: ${detail}`);
  }
  return say('ServerError', `the server at ${where} failed: ${detail}`);
}

/** An Error whose message says what failed, with no password in it; the driver's code is kept. */
export function sanitized(error: unknown, doing: string, secrets: readonly string[]): Error {
  const message = redact(`${doing}: ${error instanceof Error ? error.message : String(error)}`, secrets);
  const result = new Error(message) as Error & { code?: unknown };
  if (typeof error === 'object' && error !== null && 'code' in error) result.code = error.code;
  return result;
}

/**
 * Runs an engine's work; a driver's failure comes out sanitized (what failed, no secret), while the engine's own
 * refusals (a name it never manages, an object that is not the service's) come out as they are.
 */
export async function runSanitized<T>(doing: string, action: () => Promise<T>, secrets: readonly string[]): Promise<T> {
  try {
    return await action();
  } catch (error) {
    if (error instanceof OwnershipConflictError || error instanceof InvalidIdentifierError) throw error;
    throw sanitized(error, doing, secrets);
  }
}

/** Runs `readVersion` as the admin: the server's version, or the classified, redacted reason it failed. */
export async function checkConnectionWith(
  readVersion: () => Promise<string | undefined>,
  where: string,
  secrets: readonly string[],
): Promise<ConnectionCheck> {
  try {
    return { ok: true, serverVersion: (await readVersion()) ?? 'unknown' };
  } catch (error) {
    return { ok: false, ...classifyConnectionError(error, where, secrets) };
  }
}
