// The providers, listed once: a metric's provider field names one of them.
import type { Metric } from '../../api/analysis.ts';
import { prometheusProvider } from './prometheus.ts';
import type { MetricProvider } from './provider.ts';
import { webProvider } from './web.ts';

export const PROVIDERS: readonly MetricProvider[] = [prometheusProvider, webProvider];

/** The provider a metric names (the CRD's rule lets exactly one through). */
export function providerFor(metric: Metric, providers: readonly MetricProvider[] = PROVIDERS): MetricProvider {
  const name = metric.provider.prometheus ? 'prometheus' : metric.provider.web ? 'web' : undefined;
  const provider = providers.find((candidate) => candidate.name === name);
  if (!provider) throw new Error(`metric ${metric.name} names no known provider`);
  return provider;
}
