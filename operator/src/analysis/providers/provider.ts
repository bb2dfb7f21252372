// The one interface every metric provider implements: measure a resolved metric (every
// placeholder filled) with the credentials read from its Secrets, within its timeout. A provider
// throws ProviderError when it cannot measure; its message is shown in the status, so it never
// holds a credential.
import type { Metric } from '../../api/analysis.ts';
import { parseDuration } from '../../desired/duration.ts';
import type { MetricValue } from '../evaluate.ts';

export interface Credentials {
  bearerToken?: string;
  basicAuth?: { username: string; password: string };
  /** PEM of the CA that signs the server's certificate. */
  ca?: string;
}

export interface MetricProvider {
  readonly name: 'prometheus' | 'web';
  measure(metric: Metric, credentials: Credentials, signal?: AbortSignal): Promise<MetricValue>;
}

export class ProviderError extends Error {}

export const DEFAULT_TIMEOUT = '10s';

export function timeoutMs(timeout: string | undefined): number {
  return parseDuration(timeout ?? DEFAULT_TIMEOUT);
}

/** The Authorization header of the credentials, if any. */
export function authorization(credentials: Credentials): Record<string, string> {
  if (credentials.bearerToken) return { authorization: `Bearer ${credentials.bearerToken}` };
  if (credentials.basicAuth) {
    const { username, password } = credentials.basicAuth;
    return { authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` };
  }
  return {};
}

/**
 * An HTTP request with a timeout, its failures told without the URL's query or any header: the
 * message says what went wrong (refused, timed out, HTTP 503) and where (host and path).
 */
export async function request(
  url: string,
  init: RequestInit & { timeoutMs: number; ca?: string },
): Promise<{ status: number; body: string }> {
  const { timeoutMs: ms, ca, signal, ...rest } = init;
  const where = describeUrl(url);
  const timeout = AbortSignal.timeout(ms);
  const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
  const dispatcher = ca ? await agentWithCa(ca) : undefined;
  let response: Response;
  try {
    response = await fetch(url, { ...rest, signal: combined, ...(dispatcher ? { dispatcher } : {}) } as RequestInit);
  } catch (error) {
    if (timeout.aborted) throw new ProviderError(`${where}: no answer within ${ms} ms`);
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new ProviderError(`${where}: ${cause?.code ?? cause?.message ?? (error as Error).message}`);
  }
  let body: string;
  try {
    body = await response.text();
  } catch {
    throw new ProviderError(`${where}: the answer was cut off${timeout.aborted ? ` after ${ms} ms` : ''}`);
  }
  return { status: response.status, body };
}

export function describeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return 'an invalid URL';
  }
}

async function agentWithCa(ca: string): Promise<unknown> {
  const { Agent } = await import('undici');
  return new Agent({ connect: { ca } });
}
