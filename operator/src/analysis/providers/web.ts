// The web provider: an HTTP request whose JSON answer — or the value at jsonPath in it — is the
// result: a number, a numeric string, true/false (1/0), or a list of those.
import type { Metric } from '../../api/analysis.ts';
import type { MetricValue } from '../evaluate.ts';
import {
  authorization,
  type Credentials,
  describeUrl,
  type MetricProvider,
  ProviderError,
  request,
  timeoutMs,
} from './provider.ts';

/** `$.data.items[0].ok`, `{$.data.ok}`, `data.ok` → the keys and indexes to follow. */
export function parseJsonPath(path: string): (string | number)[] {
  const trimmed = path
    .trim()
    .replace(/^\{(.*)\}$/, '$1')
    .replace(/^\$\.?/, '');
  if (trimmed === '') return [];
  const parts: (string | number)[] = [];
  for (const match of trimmed.matchAll(/([^.[\]]+)|\[(\d+)\]|\[['"]([^'"]+)['"]\]/g)) {
    if (match[2] !== undefined) parts.push(Number(match[2]));
    else parts.push((match[1] ?? match[3]) as string);
  }
  return parts;
}

export function selectJsonPath(document: unknown, path: string | undefined): unknown {
  let node = document;
  for (const part of parseJsonPath(path ?? '$')) {
    if (node === null || typeof node !== 'object')
      throw new ProviderError(`jsonPath ${path} finds nothing in the answer`);
    node = (node as Record<string | number, unknown>)[part];
    if (node === undefined) throw new ProviderError(`jsonPath ${path} finds nothing in the answer`);
  }
  return node;
}

function toNumber(value: unknown, path: string | undefined): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'string' && value.trim() !== '' && !Number.isNaN(Number(value))) return Number(value);
  if (value === null) return Number.NaN;
  throw new ProviderError(`the value at ${path ?? '$'} is ${JSON.stringify(value).slice(0, 80)}, not a number`);
}

export function webValue(body: string, path: string | undefined): MetricValue {
  let document: unknown;
  try {
    document = JSON.parse(body);
  } catch {
    throw new ProviderError(`the answer is not JSON: ${body.slice(0, 120)}`);
  }
  const value = selectJsonPath(document, path);
  return Array.isArray(value) ? value.map((item) => toNumber(item, path)) : toNumber(value, path);
}

export const webProvider: MetricProvider = {
  name: 'web',
  async measure(metric: Metric, credentials: Credentials, signal?: AbortSignal): Promise<MetricValue> {
    const config = metric.provider.web;
    if (!config) throw new ProviderError(`metric ${metric.name} has no web provider`);
    const headers: Record<string, string> = { accept: 'application/json', ...authorization(credentials) };
    for (const header of config.headers ?? []) headers[header.key.toLowerCase()] = header.value;
    const answer = await request(config.url, {
      method: config.method ?? 'GET',
      headers,
      ...(config.body !== undefined ? { body: config.body } : {}),
      timeoutMs: timeoutMs(config.timeout),
      ...(signal ? { signal } : {}),
    });
    if (answer.status < 200 || answer.status >= 300) {
      throw new ProviderError(`${describeUrl(config.url)} answered HTTP ${answer.status}`);
    }
    return webValue(answer.body, config.jsonPath);
  },
};
