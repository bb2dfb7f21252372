// The verdict of one measurement: the value a provider returned, held to the metric's condition
// (CEL over `result`, or the thresholdRange shorthand). Pure.
//
// A value is a number (one sample) or a list of numbers (several). No data — an empty vector, or
// NaN (Prometheus' answer to 0/0, e.g. a rate of errors over a rate of no requests) — is not a
// measurement of the release: it counts as the metric's noData policy says (Inconclusive by
// default), never as a crash or a silent pass. +Inf and -Inf are values like any other.
import { parse } from '@marcbachmann/cel-js';
import type { MeasurementPhase, Metric, NoDataPolicy } from '../api/analysis.ts';

export type MetricValue = number | number[];

export interface Verdict {
  phase: MeasurementPhase;
  message: string;
}

/** Whether a value holds no data: an empty list, NaN, or a list of NaN only. */
export function isNoData(value: MetricValue): boolean {
  if (Array.isArray(value)) return value.filter((x) => !Number.isNaN(x)).length === 0;
  return Number.isNaN(value);
}

/** The value with NaN samples of a list left out (a series with no requests says nothing). */
function withoutNaN(value: MetricValue): MetricValue {
  if (!Array.isArray(value)) return value;
  const samples = value.filter((x) => !Number.isNaN(x));
  return samples.length === 1 ? (samples[0] as number) : samples;
}

/** A value as people read it, and as the status keeps it: `0.995`, `+Inf`, `[1,2]`. */
export function formatValue(value: MetricValue): string {
  // Six significant digits: 0.944339, not 0.9443393147814221 (the verdict is taken on the exact value).
  const one = (x: number) =>
    Number.isNaN(x) ? 'NaN' : x === Infinity ? '+Inf' : x === -Infinity ? '-Inf' : String(Number(x.toPrecision(6)));
  return Array.isArray(value) ? `[${value.map(one).join(',')}]` : one(value);
}

/** The condition a metric is held to, in words: its successCondition, failureCondition or range. */
export function describeCondition(metric: Metric): string {
  const parts: string[] = [];
  if (metric.successCondition) parts.push(`success: ${metric.successCondition}`);
  if (metric.failureCondition) parts.push(`failure: ${metric.failureCondition}`);
  const range = metric.thresholdRange;
  if (range) {
    const min = range.min !== undefined ? `${range.min} <= ` : '';
    const max = range.max !== undefined ? ` <= ${range.max}` : '';
    parts.push(`success: ${min}result${max}`);
  }
  return parts.join('; ');
}

type Program = ReturnType<typeof parse>;
const compiled = new Map<string, Program>();

/** A CEL expression parsed once; throws with the parser's message when it is not CEL. */
export function compileCondition(expression: string): Program {
  let program = compiled.get(expression);
  if (!program) {
    program = parse(expression);
    if (compiled.size > 1000) compiled.clear();
    compiled.set(expression, program);
  }
  return program;
}

/** The problem with a metric's conditions (not CEL), or undefined when they parse. */
export function checkConditions(metric: Metric): string | undefined {
  for (const [field, expression] of [
    ['successCondition', metric.successCondition],
    ['failureCondition', metric.failureCondition],
  ] as const) {
    if (expression === undefined) continue;
    try {
      compileCondition(expression);
    } catch (error) {
      return `metric ${metric.name}: ${field} ${JSON.stringify(expression)} is not valid CEL: ${firstLine(error)}`;
    }
  }
  return undefined;
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
}

function holds(expression: string, value: MetricValue): boolean {
  const result = compileCondition(expression)({ result: value });
  if (typeof result !== 'boolean') throw new Error(`${expression} gave ${String(result)}, not true or false`);
  return result;
}

function inRange(metric: Metric, value: MetricValue): boolean {
  const { min = -Infinity, max = Infinity } = metric.thresholdRange ?? {};
  const samples = Array.isArray(value) ? value : [value];
  return samples.every((x) => x >= min && x <= max);
}

const NO_DATA_PHASE: Record<NoDataPolicy, MeasurementPhase> = {
  Fail: 'Failed',
  Inconclusive: 'Inconclusive',
  Pass: 'Successful',
};

/**
 * The verdict of `value` for `metric`: failureCondition true → Failed; successCondition true →
 * Successful, false → Failed (or Inconclusive when a failureCondition exists and is false too:
 * neither said yes); only a failureCondition, false → Successful. A condition that cannot be
 * evaluated on the value (a list where a number was expected) is an Error, with the reason.
 */
export function evaluateMeasurement(metric: Metric, raw: MetricValue): Verdict {
  const shown = formatValue(raw);
  if (isNoData(raw)) {
    const policy = metric.noData ?? 'Inconclusive';
    return {
      phase: NO_DATA_PHASE[policy],
      message: `no data (${shown}): counted as ${NO_DATA_PHASE[policy]} (noData: ${policy})`,
    };
  }
  const value = withoutNaN(raw);
  const condition = describeCondition(metric);
  try {
    if (metric.thresholdRange) {
      return inRange(metric, value)
        ? { phase: 'Successful', message: `${formatValue(value)} within ${condition}` }
        : { phase: 'Failed', message: `${formatValue(value)} outside ${condition}` };
    }
    if (metric.failureCondition && holds(metric.failureCondition, value)) {
      return { phase: 'Failed', message: `${formatValue(value)} meets failureCondition ${metric.failureCondition}` };
    }
    if (metric.successCondition) {
      if (holds(metric.successCondition, value)) {
        return {
          phase: 'Successful',
          message: `${formatValue(value)} meets successCondition ${metric.successCondition}`,
        };
      }
      return metric.failureCondition
        ? { phase: 'Inconclusive', message: `${formatValue(value)} meets neither condition (${condition})` }
        : {
            phase: 'Failed',
            message: `${formatValue(value)} does not meet successCondition ${metric.successCondition}`,
          };
    }
    return {
      phase: 'Successful',
      message: `${formatValue(value)} does not meet failureCondition ${metric.failureCondition}`,
    };
  } catch (error) {
    return { phase: 'Error', message: `cannot evaluate ${condition} on ${formatValue(value)}: ${firstLine(error)}` };
  }
}
