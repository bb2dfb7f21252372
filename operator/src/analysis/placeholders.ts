// Placeholders in queries, URLs, headers and bodies: {{args.NAME}}, {{service}}, {{namespace}},
// {{revision.canary}}, {{revision.stable}}, {{workload.canary}}, {{workload.stable}}. Pure.
import type { AnalysisArg, Metric } from '../api/analysis.ts';

export interface AnalysisContext {
  service: string;
  namespace: string;
  revision: { canary: string; stable: string };
  /** The Deployments' names: what Istio's destination_workload label carries. */
  workload: { canary: string; stable: string };
}

const PLACEHOLDER = /\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}/g;

export class PlaceholderError extends Error {}

/** The values of the context's placeholders, by name. */
export function contextValues(context: AnalysisContext): Map<string, string> {
  return new Map([
    ['service', context.service],
    ['namespace', context.namespace],
    ['revision.canary', context.revision.canary],
    ['revision.stable', context.revision.stable],
    ['workload.canary', context.workload.canary],
    ['workload.stable', context.workload.stable],
  ]);
}

/**
 * `text` with every placeholder whose value is known filled in. Placeholders in `deferred` (the
 * secret arguments, filled only when measuring) stay; any other unknown one is an error.
 */
export function fillPlaceholders(
  text: string,
  values: ReadonlyMap<string, string>,
  deferred: ReadonlySet<string> = new Set(),
): string {
  return text.replace(PLACEHOLDER, (whole, name: string) => {
    const value = values.get(name);
    if (value !== undefined) return value;
    if (deferred.has(name)) return whole;
    throw new PlaceholderError(`unknown placeholder {{${name}}} in ${JSON.stringify(text)}`);
  });
}

/**
 * The args in force: the template's, overridden by the Rollout's by name. An arg with neither a
 * value nor a Secret is an error.
 */
export function mergeArgs(template: readonly AnalysisArg[], given: readonly AnalysisArg[]): AnalysisArg[] {
  const merged = new Map(template.map((arg) => [arg.name, arg]));
  for (const arg of given) merged.set(arg.name, arg);
  for (const arg of merged.values()) {
    if (arg.value === undefined && !arg.valueFrom) {
      throw new PlaceholderError(`argument ${arg.name} has no value: the Rollout must give one`);
    }
  }
  return [...merged.values()];
}

/** Every string of a metric a provider sends, with `fill` applied. */
export function mapMetricStrings(metric: Metric, fill: (text: string) => string): Metric {
  const { prometheus, web } = metric.provider;
  if (prometheus) return { ...metric, provider: { prometheus: { ...prometheus, query: fill(prometheus.query) } } };
  if (web) {
    return {
      ...metric,
      provider: {
        web: {
          ...web,
          url: fill(web.url),
          ...(web.headers ? { headers: web.headers.map((h) => ({ key: h.key, value: fill(h.value) })) } : {}),
          ...(web.body !== undefined ? { body: fill(web.body) } : {}),
        },
      },
    };
  }
  return metric;
}

/**
 * The metric with the context and the plain args filled in; the Secret args stay as placeholders
 * (filled at measurement time, never stored).
 */
export function resolveMetric(metric: Metric, args: readonly AnalysisArg[], context: AnalysisContext): Metric {
  const values = contextValues(context);
  const deferred = new Set<string>();
  for (const arg of args) {
    if (arg.value !== undefined) values.set(`args.${arg.name}`, arg.value);
    else deferred.add(`args.${arg.name}`);
  }
  return mapMetricStrings(metric, (text) => fillPlaceholders(text, values, deferred));
}

/** The query or URL a metric measures, for the status and the logs (never a header or body). */
export function describeTarget(metric: Metric): string {
  return (
    metric.provider.prometheus?.query ?? `${metric.provider.web?.method ?? 'GET'} ${metric.provider.web?.url ?? ''}`
  );
}
