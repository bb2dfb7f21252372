// A private Prometheus server for tests: Debian's `prometheus` package (installed when missing and
// root, its own service kept from starting), started directly with our own configuration on
// 127.0.0.1 (port 19090, or FLOTILLA_PROMETHEUS_PORT), scraping every second the targets the tests
// list in its file_sd folder. Its data, configuration, log and pid live under
// /var/tmp/flotilla-prometheus-<uid>/.
import { spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { aptInstallPackage, onPath } from '../databases/install.ts';

export const PROMETHEUS_PORT = Number(process.env.FLOTILLA_PROMETHEUS_PORT ?? 19090);
export const PROMETHEUS_URL = `http://127.0.0.1:${PROMETHEUS_PORT}`;
export const PROMETHEUS_DIR = `/var/tmp/flotilla-prometheus-${process.getuid?.() ?? 0}`;
const TARGETS_DIR = join(PROMETHEUS_DIR, 'targets');
const PID_FILE = join(PROMETHEUS_DIR, 'prometheus.pid');
const LOG_FILE = join(PROMETHEUS_DIR, 'prometheus.log');

function log(message: string): void {
  console.error(`[prometheus] ${message}`);
}

export function findPrometheus(): string | undefined {
  return onPath(['prometheus']);
}

/** The program, installed from Debian's package when missing (root); a clear error otherwise. */
export function ensurePrometheus(): string {
  const found = findPrometheus();
  if (found) return found;
  aptInstallPackage('prometheus', 'Prometheus', 'install it as root with `apt-get install prometheus` (Debian/Ubuntu)');
  const installed = findPrometheus();
  if (!installed) throw new Error('the prometheus program is still missing after apt-get install prometheus');
  return installed;
}

export function prometheusConfig(): string {
  return [
    'global:',
    '  scrape_interval: 1s',
    '  evaluation_interval: 1s',
    'scrape_configs:',
    '  - job_name: flotilla-tests',
    '    file_sd_configs:',
    `      - files: ['${TARGETS_DIR}/*.json']`,
    '        refresh_interval: 1s',
    '',
  ].join('\n');
}

function runningPid(): number | undefined {
  if (!existsSync(PID_FILE)) return undefined;
  const pid = Number(readFileSync(PID_FILE, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline.includes('prometheus') && cmdline.includes(PROMETHEUS_DIR) ? pid : undefined;
  } catch {
    return undefined;
  }
}

async function isReady(): Promise<boolean> {
  try {
    return (await fetch(`${PROMETHEUS_URL}/-/ready`, { signal: AbortSignal.timeout(1_000) })).ok;
  } catch {
    return false;
  }
}

/** Starts the server, or reuses the one running; resolves when it answers /-/ready. */
export async function prometheusUp(): Promise<string> {
  if (runningPid() !== undefined && (await isReady())) return PROMETHEUS_URL;
  const program = ensurePrometheus();
  mkdirSync(TARGETS_DIR, { recursive: true });
  const config = join(PROMETHEUS_DIR, 'prometheus.yml');
  writeFileSync(config, prometheusConfig());
  const out = openSync(LOG_FILE, 'a');
  const child = spawn(
    program,
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(PROMETHEUS_DIR, 'data')}`,
      '--storage.tsdb.retention.time=2h',
      `--web.listen-address=127.0.0.1:${PROMETHEUS_PORT}`,
      '--web.enable-lifecycle',
    ],
    { detached: true, stdio: ['ignore', out, out] },
  );
  closeSync(out);
  writeFileSync(PID_FILE, String(child.pid));
  child.unref();
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (await isReady()) {
      log(`up on ${PROMETHEUS_URL} (pid ${child.pid}, log ${LOG_FILE})`);
      return PROMETHEUS_URL;
    }
    if (child.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const tail = existsSync(LOG_FILE) ? readFileSync(LOG_FILE, 'utf8').split('\n').slice(-8).join('\n') : '';
  throw new Error(`Prometheus did not become ready on ${PROMETHEUS_URL} within 30 s; its log ends:\n${tail}`);
}

export async function prometheusDown(purge = false): Promise<void> {
  const pid = runningPid();
  if (pid !== undefined) {
    process.kill(pid, 'SIGTERM');
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && runningPid() !== undefined) await new Promise((r) => setTimeout(r, 100));
    if (runningPid() !== undefined) process.kill(pid, 'SIGKILL');
    log(`stopped (pid ${pid})`);
  }
  rmSync(PID_FILE, { force: true });
  if (purge) rmSync(PROMETHEUS_DIR, { recursive: true, force: true });
}

export async function prometheusStatus(): Promise<{ running: boolean; lines: string[] }> {
  const pid = runningPid();
  const ready = await isReady();
  const targets = existsSync(TARGETS_DIR) ? readdirSync(TARGETS_DIR).filter((f) => f.endsWith('.json')) : [];
  return {
    running: pid !== undefined && ready,
    lines: [
      `prometheus: ${pid !== undefined ? `pid ${pid}` : 'not running'}, ${ready ? 'ready' : 'not ready'} on ${PROMETHEUS_URL}`,
      `  program: ${findPrometheus() ?? 'not installed'}; data, config and log under ${PROMETHEUS_DIR}`,
      `  target files: ${targets.length > 0 ? targets.join(', ') : 'none'}`,
    ],
  };
}

/** Makes Prometheus scrape `targets` (host:port) under the job's file `name`; returns a function that removes them. */
export function addScrapeTargets(name: string, targets: string[], labels: Record<string, string> = {}): () => void {
  mkdirSync(TARGETS_DIR, { recursive: true });
  const file = join(TARGETS_DIR, `${name}.json`);
  writeFileSync(`${file}.tmp`, JSON.stringify([{ targets, labels }]));
  // A rename, so that Prometheus never reads half a file.
  renameSync(`${file}.tmp`, file);
  return () => rmSync(file, { force: true });
}
