// `kubectl flotilla list`: one line per service — phase, revision, weight, replicas, database, age —
// unhealthy ones first. Pure: MicroServices and Rollouts in, rows and text out.
import type { MicroService } from '../api/microservice.ts';
import type { Rollout } from '../api/rollout.ts';
import { rolloutFor } from './gather.ts';
import { paint, phaseHealth, type Style } from './render.ts';
import { formatAge } from './view.ts';

export interface FleetRow {
  namespace: string;
  name: string;
  /** The Rollout's phase, else Ready / NotReady / Degraded from the MicroService's conditions. */
  phase: string;
  revision: string;
  /** The canary's weight while a release moves, else empty. */
  weight: string;
  replicas: string;
  database: string;
  age: string;
}

function serviceHealth(ms: MicroService): string {
  const conditions = ms.status?.conditions ?? [];
  if (conditions.some((c) => c.type === 'Degraded' && c.status === 'True')) return 'Degraded';
  const ready = conditions.find((c) => c.type === 'Ready');
  return ready?.status === 'True' ? 'Healthy' : 'Progressing';
}

function databaseOf(ms: MicroService): string {
  if (!ms.spec.database && !ms.spec.cache && !ms.spec.messaging) return '-';
  const parts: string[] = [];
  for (const [type, asked] of [
    ['DatabaseReady', ms.spec.database],
    ['CacheReady', ms.spec.cache],
    ['MessagingReady', ms.spec.messaging],
  ] as const) {
    if (!asked) continue;
    const condition = ms.status?.conditions?.find((c) => c.type === type);
    const label = type === 'DatabaseReady' ? 'db' : type === 'CacheReady' ? 'cache' : 'mq';
    parts.push(condition?.status === 'True' ? label : `${label}:${condition?.reason ?? 'Pending'}`);
  }
  return parts.join(',');
}

const RANK: Record<string, number> = { Degraded: 0, Aborted: 0, Progressing: 1, Paused: 1, Healthy: 2 };

export function buildFleet(services: readonly MicroService[], rollouts: readonly Rollout[], now: Date): FleetRow[] {
  const rows = services.map((ms): FleetRow => {
    const namespace = ms.metadata.namespace ?? '';
    const name = ms.metadata.name ?? '';
    const rollout = rolloutFor(
      rollouts.filter((r) => r.metadata.namespace === namespace),
      name,
    );
    const status = rollout?.status;
    const moving = status?.canaryRevision !== undefined && status.canaryRevision !== status.stableRevision;
    return {
      namespace,
      name,
      phase: status?.phase ?? serviceHealth(ms),
      revision:
        (status?.stableRevision ?? ms.status?.currentRevision ?? '-') + (moving ? `→${status.canaryRevision}` : ''),
      weight: moving && status.canaryWeight !== undefined ? `${status.canaryWeight}%` : '-',
      replicas: `${ms.status?.readyReplicas ?? 0}/${ms.status?.replicas ?? 0}`,
      database: databaseOf(ms),
      age: formatAge(ms.metadata.creationTimestamp, now),
    };
  });
  return rows.sort(
    (a, b) =>
      (RANK[a.phase] ?? 1) - (RANK[b.phase] ?? 1) ||
      a.namespace.localeCompare(b.namespace) ||
      a.name.localeCompare(b.name),
  );
}

const COLUMNS: { title: string; key: keyof FleetRow }[] = [
  { title: 'NAMESPACE', key: 'namespace' },
  { title: 'NAME', key: 'name' },
  { title: 'PHASE', key: 'phase' },
  { title: 'REVISION', key: 'revision' },
  { title: 'WEIGHT', key: 'weight' },
  { title: 'READY', key: 'replicas' },
  { title: 'DATABASE', key: 'database' },
  { title: 'AGE', key: 'age' },
];

/** A kubectl-style table; the namespace column only across namespaces. */
export function renderFleet(rows: readonly FleetRow[], style: Style, allNamespaces: boolean): string {
  if (rows.length === 0) return 'No MicroServices found.\n';
  const columns = COLUMNS.filter((c) => allNamespaces || c.key !== 'namespace');
  const widths = columns.map((c) => Math.max(c.title.length, ...rows.map((r) => r[c.key].length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd((widths[i] ?? 0) + 3)))
      .join('')
      .trimEnd();
  const header = line(columns.map((c) => c.title));
  const body = rows.map((row) => {
    const text = line(columns.map((c) => row[c.key]));
    const health = phaseHealth(row.phase);
    return health === 'good' ? text : paint(style, health === 'bad' ? 'red' : 'yellow', text);
  });
  return `${[header, ...body].join('\n')}\n`;
}
