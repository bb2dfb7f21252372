// The Prometheus provider: an instant query (GET /api/v1/query). A vector of one sample is a
// number, of several a list, of none an empty list (no data); a scalar is a number. Prometheus
// spells infinities and NaN as "+Inf", "-Inf" and "NaN".
import type { Metric } from '../../api/analysis.ts';
import type { MetricValue } from '../evaluate.ts';
import { authorization, type Credentials, type MetricProvider, ProviderError, request, timeoutMs } from './provider.ts';

interface QueryAnswer {
  status?: string;
  error?: string;
  errorType?: string;
  data?: { resultType?: string; result?: unknown };
}

/** A Prometheus sample value. */
export function parseSample(text: unknown): number {
  if (text === '+Inf' || text === 'Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN') return Number.NaN;
  const value = Number(text);
  if (typeof text !== 'string' || text.trim() === '' || Number.isNaN(value)) {
    throw new ProviderError(`not a sample value: ${JSON.stringify(text)}`);
  }
  return value;
}

/** The value of an answer of /api/v1/query. */
export function parseQueryAnswer(body: string): MetricValue {
  let answer: QueryAnswer;
  try {
    answer = JSON.parse(body) as QueryAnswer;
  } catch {
    throw new ProviderError(`Prometheus answered with something that is not JSON: ${body.slice(0, 120)}`);
  }
  if (answer.status !== 'success') {
    throw new ProviderError(
      `Prometheus refused the query: ${answer.errorType ?? 'error'}: ${answer.error ?? 'no reason given'}`,
    );
  }
  const { resultType, result } = answer.data ?? {};
  if (resultType === 'scalar') return parseSample((result as [number, string])[1]);
  if (resultType === 'vector') {
    const samples = (result as { value: [number, string] }[]).map((sample) => parseSample(sample.value[1]));
    return samples.length === 1 ? (samples[0] as number) : samples;
  }
  throw new ProviderError(
    `the query returned a ${resultType ?? 'missing'} result; an instant vector or a scalar is needed`,
  );
}

export const prometheusProvider: MetricProvider = {
  name: 'prometheus',
  async measure(metric: Metric, credentials: Credentials, signal?: AbortSignal): Promise<MetricValue> {
    const config = metric.provider.prometheus;
    if (!config) throw new ProviderError(`metric ${metric.name} has no prometheus provider`);
    const ms = timeoutMs(config.timeout);
    const url = new URL('api/v1/query', config.address.endsWith('/') ? config.address : `${config.address}/`);
    url.searchParams.set('query', config.query);
    url.searchParams.set('timeout', `${Math.max(1, Math.floor(ms / 1000))}s`);
    const answer = await request(url.toString(), {
      method: 'GET',
      headers: { accept: 'application/json', ...authorization(credentials) },
      timeoutMs: ms,
      ...(credentials.ca ? { ca: credentials.ca } : {}),
      ...(signal ? { signal } : {}),
    });
    if (answer.status === 401 || answer.status === 403) {
      throw new ProviderError(`Prometheus at ${config.address} refused the credentials (HTTP ${answer.status})`);
    }
    if (answer.status >= 500 && !answer.body.startsWith('{')) {
      throw new ProviderError(`Prometheus at ${config.address} answered HTTP ${answer.status}`);
    }
    return parseQueryAnswer(answer.body);
  },
};
