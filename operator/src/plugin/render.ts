// Text output: the service tree of `get`, one line per service for `list`. Colours and symbols only
// when the style says so (a TTY without NO_COLOR); lines cut to the terminal's width on a TTY only.
import type { AnalysisRunView, ConditionView, RevisionView, RolloutView, RouteView, ServiceView } from './view.ts';

export interface Style {
  color: boolean;
  /** Columns to cut lines to; undefined in pipes. */
  width?: number;
}

export const PLAIN: Style = { color: false };

/** The style for a stream: colour on a TTY unless NO_COLOR is set (https://no-color.org). */
export function styleFor(stream: { isTTY?: boolean; columns?: number }, env: NodeJS.ProcessEnv = process.env): Style {
  if (!stream.isTTY) return PLAIN;
  return { color: !env.NO_COLOR, ...(stream.columns ? { width: stream.columns } : {}) };
}

const CODES = { green: 32, red: 31, yellow: 33, blue: 34, dim: 2, bold: 1 } as const;
type Tone = keyof typeof CODES;

export function paint(style: Style, tone: Tone, text: string): string {
  return style.color ? `\u001b[${CODES[tone]}m${text}\u001b[0m` : text;
}

/** Good, bad or waiting, for a phase or a condition. */
type Health = 'good' | 'bad' | 'wait';
const HEALTH: Record<Health, { tone: Tone; symbol: string }> = {
  good: { tone: 'green', symbol: '✔' },
  bad: { tone: 'red', symbol: '✖' },
  wait: { tone: 'yellow', symbol: '◷' },
};

function badge(style: Style, health: Health, text: string): string {
  const { tone, symbol } = HEALTH[health];
  return paint(style, tone, style.color ? `${symbol} ${text}` : text);
}

export function phaseHealth(phase: string): Health {
  if (phase === 'Healthy') return 'good';
  if (phase === 'Degraded' || phase === 'Aborted') return 'bad';
  return 'wait';
}

function analysisHealth(phase: string): Health {
  if (phase === 'Successful') return 'good';
  if (phase === 'Failed' || phase === 'Error') return 'bad';
  return 'wait';
}

/** A condition whose True is bad (Degraded) reads the other way round. */
function conditionHealth(condition: ConditionView): Health {
  const good = condition.type === 'Degraded' ? condition.status === 'False' : condition.status === 'True';
  if (good) return 'good';
  return condition.type === 'Progressing' ? 'wait' : 'bad';
}

function conditionText(style: Style, condition: ConditionView | undefined, label: string): string {
  if (!condition) return paint(style, 'dim', `${label} unknown`);
  const reason = condition.reason ? ` (${condition.reason})` : '';
  return badge(style, conditionHealth(condition), `${label} ${condition.status}${reason}`);
}

/** Tree lines: each node is its text and children; rendered with box-drawing guides. */
interface Node {
  text: string;
  children?: Node[];
}

function drawTree(root: Node, style: Style): string[] {
  const lines = [root.text];
  const walk = (children: Node[], prefix: string) => {
    children.forEach((child, index) => {
      const last = index === children.length - 1;
      lines.push(`${prefix}${paint(style, 'dim', last ? '└─ ' : '├─ ')}${child.text}`);
      walk(child.children ?? [], `${prefix}${paint(style, 'dim', last ? '   ' : '│  ')}`);
    });
  };
  walk(root.children ?? [], '');
  return lines;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: colour codes are what is matched
const COLOUR_CODE = /\u001b\[[0-9;]*m/g;

/** A line too wide for the terminal loses its colours and ends in an ellipsis. */
function cut(line: string, width: number | undefined): string {
  if (width === undefined) return line;
  const plain = line.replace(COLOUR_CODE, '');
  return plain.length <= width ? line : `${plain.slice(0, Math.max(0, width - 1))}…`;
}

function rolloutNode(style: Style, rollout: RolloutView, routes: RouteView[]): Node {
  const step = rollout.step ? `  step ${rollout.step.current}/${rollout.step.total} (${rollout.step.what})` : '';
  const seen = routes[0]?.weights.find((w) => w.backend === 'canary' || w.backend.endsWith('-canary'));
  const weight =
    rollout.weight === undefined
      ? ''
      : `  weight ${rollout.weight}%${routes.length ? ` (route: ${seen?.weight ?? 0}%)` : ''}`;
  const children: Node[] = [];
  if (rollout.paused) children.push({ text: paint(style, 'yellow', 'held: spec.paused is true (resume to go on)') });
  if (rollout.message) children.push({ text: `message: ${rollout.message}` });
  if (rollout.lastAction) {
    const { action, message, age } = rollout.lastAction;
    children.push({ text: `last action: ${action}${age ? ` ${age} ago` : ''}${message ? ` — ${message}` : ''}` });
  }
  const bad = rollout.conditions.filter((c) => c.type === 'Aborted' && c.status === 'True');
  for (const condition of bad) children.push({ text: conditionText(style, condition, condition.type) });
  for (const run of rollout.analysisRuns) children.push(analysisNode(style, run));
  return {
    text: `Rollout ${paint(style, 'bold', rollout.name)}  ${rollout.strategy}  ${badge(style, phaseHealth(rollout.phase), rollout.phase)}${step}${weight}`,
    children,
  };
}

function analysisNode(style: Style, run: AnalysisRunView): Node {
  const message = run.message ? `  ${run.message}` : '';
  return {
    text: `AnalysisRun ${run.name}  ${run.gate}  ${badge(style, analysisHealth(run.phase), run.phase)}${message}`,
    children: run.metrics.map((metric) => {
      const value = metric.lastValue === undefined ? 'no value yet' : `last ${metric.lastValue}`;
      const condition = metric.condition ? ` (${metric.condition})` : '';
      const dryRun = metric.dryRun ? '  dry run' : '';
      return {
        text: `${metric.name}  ${badge(style, analysisHealth(metric.phase), metric.phase)}  ${value}${condition}${dryRun}`,
      };
    }),
  };
}

function revisionNode(style: Style, revision: RevisionView): Node {
  const counts = `${revision.ready}/${revision.desired} ready`;
  const health: Health = revision.ready >= revision.desired ? 'good' : 'wait';
  const role = revision.role ? paint(style, 'bold', revision.role.padEnd(7)) : ''.padEnd(7);
  return {
    text: `${role} ${revision.deployment}  ${revision.image}  ${badge(style, health, counts)}`,
    children: revision.pods.map((pod) => ({
      text: `${pod.name}  ${badge(style, pod.ready ? 'good' : pod.state === 'Running' || pod.state === 'Pending' ? 'wait' : 'bad', pod.ready ? 'Ready' : pod.state)}  ${pod.restarts} restart${pod.restarts === 1 ? '' : 's'}  ${pod.age}`,
    })),
  };
}

function routeNode(route: RouteView): Node {
  const hosts = route.hosts.length ? `  hosts ${route.hosts.join(', ')}` : '';
  const weights = route.weights.map((w) => `${w.backend} ${w.weight}`).join(' / ');
  return { text: `${route.router}  ${route.object}${hosts}  weights ${weights || '-'}` };
}

export function renderTree(view: ServiceView, style: Style = PLAIN): string {
  if (!view.found && !view.rollout) return `MicroService ${view.namespace}/${view.name} not found\n`;
  const ready = view.conditions.find((c) => c.type === 'Ready');
  const degraded = view.conditions.find((c) => c.type === 'Degraded' && c.status === 'True');
  const header =
    `MicroService ${paint(style, 'bold', `${view.namespace}/${view.name}`)}  ` +
    `${conditionText(style, ready, 'Ready')}${degraded ? `  ${conditionText(style, degraded, 'Degraded')}` : ''}  ` +
    `pods ${view.ready}/${view.replicas}`;
  const children: Node[] = [];
  if (!view.found) children.push({ text: paint(style, 'red', 'the MicroService does not exist') });
  else children.push({ text: `image ${view.image}${view.url ? `  url ${view.url}` : ''}` });
  if (ready && ready.status !== 'True' && ready.message && ready.message !== view.rollout?.message) {
    children.push({ text: `why: ${ready.message}` });
  }
  if (view.rollout) children.push(rolloutNode(style, view.rollout, view.routes));
  children.push({
    text: 'revisions',
    children: view.revisions.length
      ? view.revisions.map((revision) => revisionNode(style, revision))
      : [{ text: paint(style, 'dim', 'none') }],
  });
  children.push({
    text: 'routes',
    children: view.routes.length
      ? view.routes.map(routeNode)
      : [{ text: paint(style, 'dim', 'none (no mesh or gateway route)') }],
  });
  if (view.database) {
    const { ready: condition, secret, server, name } = view.database;
    const at = [server ? `server ${server}` : '', name ? `database ${name}` : '', secret ? `Secret ${secret}` : '']
      .filter(Boolean)
      .join('  ');
    children.push({ text: `database  ${conditionText(style, condition, 'DatabaseReady')}  ${at}`.trimEnd() });
  }
  if (view.cache) {
    const { ready: condition, secret, server } = view.cache;
    const at = [server ? `server ${server}` : '', secret ? `Secret ${secret}` : ''].filter(Boolean).join('  ');
    children.push({ text: `cache  ${conditionText(style, condition, 'CacheReady')}  ${at}`.trimEnd() });
  }
  if (view.messaging) {
    const { ready: condition, secret, server, user } = view.messaging;
    const at = [server ? `server ${server}` : '', user ? `user ${user}` : '', secret ? `Secret ${secret}` : '']
      .filter(Boolean)
      .join('  ');
    children.push({ text: `messaging  ${conditionText(style, condition, 'MessagingReady')}  ${at}`.trimEnd() });
  }
  return `${drawTree({ text: header, children }, style)
    .map((line) => cut(line, style.width))
    .join('\n')}\n`;
}
