// Pure helpers of the MicroService benchmark: the samples of a Prometheus text exposition, the
// operator's API requests by verb and what of them are writes, a process's memory from
// /proc/<pid>/status, and which scenarios `npm run bench` was asked to run.

export interface Sample {
  labels: Record<string, string>;
  value: number;
}

/** The samples of the metric `name` (exactly that name, no `_bucket`/`_sum` suffix) in `text`. */
export function samplesOf(text: string, name: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || !line.startsWith(name)) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match || match[1] !== name) continue;
    const labels: Record<string, string> = {};
    for (const label of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[label[1] as string] = (label[2] as string).replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    samples.push({ labels, value: Number(match[3]) });
  }
  return samples;
}

/** The verbs of flotilla_api_requests_total that only read. */
export const READ_VERBS: ReadonlySet<string> = new Set(['GET', 'LIST', 'WATCH']);

/**
 * The verbs the operator sends Events with: it CREATEs an Event and PATCHes its count on a repeat,
 * and (a MicroService without a database has no finalizer) sends no other CREATE or PATCH.
 */
export const EVENT_VERBS: ReadonlySet<string> = new Set(['CREATE', 'PATCH']);

/** flotilla_api_requests_total summed by verb, every status code included (a refused write is still a request). */
export function requestsByVerb(metricsText: string): Record<string, number> {
  const byVerb: Record<string, number> = {};
  for (const { labels, value } of samplesOf(metricsText, 'flotilla_api_requests_total')) {
    const verb = labels.verb ?? '?';
    byVerb[verb] = (byVerb[verb] ?? 0) + value;
  }
  return byVerb;
}

export interface WriteCounts {
  /** Every request that is not a GET, LIST or WATCH. */
  all: number;
  /** Of them, the Event writes (CREATE, PATCH). */
  events: number;
  /** all − events: server-side applies of children and status, deletes. */
  withoutEvents: number;
}

/** The writes among `byVerb`, and the `before` counts subtracted when given. */
export function writeCounts(byVerb: Record<string, number>, before: Record<string, number> = {}): WriteCounts {
  let all = 0;
  let events = 0;
  for (const [verb, count] of Object.entries(byVerb)) {
    if (READ_VERBS.has(verb)) continue;
    const delta = count - (before[verb] ?? 0);
    all += delta;
    if (EVENT_VERBS.has(verb)) events += delta;
  }
  return { all, events, withoutEvents: all - events };
}

export interface ProcessMemory {
  /** VmHWM: the peak resident set size, MiB. */
  peakRssMiB: number;
  /** VmRSS: the resident set size now, MiB. */
  rssMiB: number;
}

/** VmHWM and VmRSS of a /proc/<pid>/status text; NaN for a field that is missing. */
export function parseProcStatus(text: string): ProcessMemory {
  const kib = (field: string) => {
    const match = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(text);
    return match ? Number(match[1]) / 1024 : Number.NaN;
  };
  return { peakRssMiB: kib('VmHWM'), rssMiB: kib('VmRSS') };
}

export const SCENARIOS = [
  'runtime',
  'microservices',
  'databases',
  'rollouts',
  'config',
  'analysis',
  'scale',
  'soak',
] as const;
export type Scenario = (typeof SCENARIOS)[number];
/** Run only when named: they take an hour or more on a small machine. */
const ON_REQUEST: readonly Scenario[] = ['scale', 'soak'];

/** The scenarios named in `args` (`npm run bench -- microservices`); all but scale and soak when none is named. */
export function selectScenarios(args: readonly string[]): Scenario[] {
  const unknown = args.filter((arg) => !(SCENARIOS as readonly string[]).includes(arg));
  if (unknown.length > 0) {
    throw new Error(`unknown bench scenario ${unknown.join(', ')}: choose from ${SCENARIOS.join(', ')}`);
  }
  return args.length === 0
    ? SCENARIOS.filter((scenario) => !ON_REQUEST.includes(scenario))
    : SCENARIOS.filter((scenario) => args.includes(scenario));
}

/** The process's memory as its /metrics tells (prom-client's defaults, prefix flotilla_), in MiB. */
export interface HeapFigures {
  /** V8's heap, committed, and by space: new (the young generation), old, large_object. */
  total: number;
  used: number;
  spaces: Record<string, number>;
  /** Memory of C++ objects bound to JavaScript ones (buffers). */
  external: number;
}

export function heapFigures(metricsText: string): HeapFigures {
  const MiB = 1024 * 1024;
  const one = (name: string) => (samplesOf(metricsText, name)[0]?.value ?? Number.NaN) / MiB;
  const spaces: Record<string, number> = {};
  for (const { labels, value } of samplesOf(metricsText, 'flotilla_nodejs_heap_space_size_total_bytes')) {
    if (labels.space && value > 0) spaces[labels.space] = value / MiB;
  }
  return {
    total: one('flotilla_nodejs_heap_size_total_bytes'),
    used: one('flotilla_nodejs_heap_size_used_bytes'),
    spaces,
    external: one('flotilla_nodejs_external_memory_bytes'),
  };
}

/** Each figure the largest of `a` and `b` (a running peak). */
export function peakOf(a: HeapFigures | undefined, b: HeapFigures): HeapFigures {
  if (!a) return b;
  const spaces: Record<string, number> = { ...a.spaces };
  for (const [space, mib] of Object.entries(b.spaces)) spaces[space] = Math.max(spaces[space] ?? 0, mib);
  return {
    total: Math.max(a.total, b.total),
    used: Math.max(a.used, b.used),
    spaces,
    external: Math.max(a.external, b.external),
  };
}

/** The options given to node before the script in the Dockerfile's (last) exec-form ENTRYPOINT. */
export function entrypointNodeFlags(dockerfile: string): string[] {
  const entrypoints = [...dockerfile.matchAll(/^ENTRYPOINT\s+(\[.*\])\s*$/gm)];
  const last = entrypoints.at(-1)?.[1];
  if (!last) return [];
  const [command, ...rest] = JSON.parse(last) as string[];
  if (command !== 'node') return [];
  const flags: string[] = [];
  for (const arg of rest) {
    if (!arg.startsWith('-')) break;
    flags.push(arg);
  }
  return flags;
}
