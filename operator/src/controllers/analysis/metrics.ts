// The analysis metrics the operator exports: each measurement's value and a count by phase, per
// rollout and metric.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { MeasurementPhase } from '../../api/analysis.ts';

export interface AnalysisMetrics {
  observe(
    labels: { namespace: string; rollout: string; metric: string },
    phase: MeasurementPhase,
    value?: number,
  ): void;
}

const byRegistry = new WeakMap<Registry, AnalysisMetrics>();

/** The analysis metrics of `registry`, made once (a new leader term builds its controllers again). */
export function createAnalysisMetrics(registry?: Registry): AnalysisMetrics {
  const existing = registry && byRegistry.get(registry);
  if (existing) return existing;
  const made = makeAnalysisMetrics(registry);
  if (registry) byRegistry.set(registry, made);
  return made;
}

function makeAnalysisMetrics(registry?: Registry): AnalysisMetrics {
  const registers = registry ? [registry] : [];
  const value = new Gauge({
    name: 'flotilla_analysis_measurement_value',
    help: 'The last value measured of an analysis metric (the first sample when the query returned several).',
    labelNames: ['namespace', 'rollout', 'metric'],
    registers,
  });
  const total = new Counter({
    name: 'flotilla_analysis_measurements_total',
    help: 'Analysis measurements taken, by phase (Successful, Failed, Inconclusive, Error).',
    labelNames: ['namespace', 'rollout', 'metric', 'phase'],
    registers,
  });
  return {
    observe(labels, phase, measured) {
      total.inc({ ...labels, phase });
      if (measured !== undefined && !Number.isNaN(measured)) value.set(labels, measured);
    },
  };
}
