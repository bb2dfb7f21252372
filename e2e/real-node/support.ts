// What the real-node tests share: helm and kubectl against the cluster, the operator image moved
// into the real node, pods' logs followed through the kubelet, and a tiny HTTP server image.
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { binariesDir, readVersions } from '../cluster/paths.ts';
import { REAL_NODE_NAME } from '../cluster/real-node.ts';
import { podmanShell, repoRoot } from '../image/podman.ts';
import type { TestCluster } from '../support/cluster.ts';

const execFileAsync = promisify(execFile);
export const CHART = join(repoRoot, 'charts', 'flotilla');
const HELM = join(binariesDir(readVersions()), 'helm');

export async function helm(cluster: TestCluster, args: string[]): Promise<string> {
  const { stdout } = await execFileAsync(HELM, ['--kubeconfig', cluster.kubeconfigPath, ...args], {
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout;
}

/** `helm install` of the chart with the operator image built here (localhost/flotilla:<tag>), one replica. */
export function chartInstallArgs(release: string, namespace: string, tag: string, watchNamespace: string): string[] {
  return [
    'install',
    release,
    CHART,
    '--namespace',
    namespace,
    '--set',
    'image.repository=localhost/flotilla',
    '--set',
    `image.tag=${tag}`,
    '--set',
    'replicaCount=1',
    '--set',
    `watchNamespace=${watchNamespace}`,
  ];
}

/** Fails, saying how to get one, unless the cluster has a Ready real node. */
export async function requireRealNode(cluster: TestCluster): Promise<void> {
  let ready = '';
  try {
    ready = await cluster.kubectl([
      'get',
      'node',
      REAL_NODE_NAME,
      '-o',
      'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
    ]);
  } catch (error) {
    const why = process.env.FLOTILLA_REAL_NODE_ERROR
      ? `\nWhy there is none: ${process.env.FLOTILLA_REAL_NODE_ERROR}`
      : '';
    throw new Error(
      `This test needs the real node ${REAL_NODE_NAME}: \`npm run cluster -- up --real-node\` adds it (root; ` +
        `apt-get install podman debootstrap containerd runc containernetworking-plugins iptables socat gcc). ${String(error)}${why}`,
    );
  }
  assert.equal(ready.trim(), 'True', `the real node ${REAL_NODE_NAME} is not Ready`);
}

/** `npm run cluster -- load-image IMAGE`: the image from Podman's storage into the real node. */
export async function loadImage(image: string): Promise<void> {
  await execFileAsync(process.execPath, [join(repoRoot, 'e2e/cluster/cli.ts'), 'load-image', image], {
    cwd: repoRoot,
    timeout: 5 * 60_000,
  });
}

/**
 * A static HTTP server that answers every request with its version and closes the connection: on
 * :8080, or on each port of ECHO_PORTS (comma-separated; empty: none, it only waits for SIGTERM).
 * Told by its environment to misbehave, as kwok's `flotilla.dev/simulate` labels make simulated pods
 * do (on kind there is no kwok): ECHO_FAIL=not-ready answers 503 to everything (a failing readiness
 * probe), ECHO_FAIL=crash exits with code 1 at once (CrashLoopBackOff); ECHO_EXIT=<code> exits with
 * that code at once (a Job's pod, which kwok completes at once, or fails when its command is `false`).
 */
const ECHO_C = `#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>
static void stop(int sig) { (void)sig; _exit(0); }
int main(void) {
  char version[64] = {0};
  FILE *f = fopen("/version", "r");
  if (f) { if (!fgets(version, sizeof version, f)) version[0] = 0; fclose(f); }
  const char *exit_code = getenv("ECHO_EXIT");
  if (exit_code && *exit_code) return atoi(exit_code);
  const char *fail = getenv("ECHO_FAIL");
  if (fail && !strcmp(fail, "crash")) return 1;
  const char *status = fail && !strcmp(fail, "not-ready") ? "503 Service Unavailable" : "200 OK";
  signal(SIGPIPE, SIG_IGN); signal(SIGTERM, stop); signal(SIGINT, stop);
  const char *env_ports = getenv("ECHO_PORTS");
  char ports[512];
  snprintf(ports, sizeof ports, "%s", env_ports ? env_ports : "8080");
  int socks[32], n = 0, top = -1;
  for (char *p = strtok(ports, ","); p && n < 32; p = strtok(0, ",")) {
    int port = atoi(p), s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    if (port <= 0 || s < 0) continue;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET; a.sin_port = htons(port); a.sin_addr.s_addr = INADDR_ANY;
    if (bind(s, (struct sockaddr *)&a, sizeof a) || listen(s, 128)) { close(s); continue; } /* a port twice */
    socks[n++] = s;
    if (s > top) top = s;
  }
  if (env_ports == 0 && n == 0) return 1;
  if (n == 0) for (;;) pause();
  for (;;) {
    fd_set ready;
    FD_ZERO(&ready);
    for (int i = 0; i < n; i++) FD_SET(socks[i], &ready);
    if (select(top + 1, &ready, 0, 0, 0) < 0) continue;
    for (int i = 0; i < n; i++) {
      if (!FD_ISSET(socks[i], &ready)) continue;
      int c = accept(socks[i], 0, 0);
      if (c < 0) continue;
      char in[4096], out[256];
      if (read(c, in, sizeof in) < 0) { close(c); continue; }
      int len = snprintf(out, sizeof out, "HTTP/1.1 %s\\r\\nContent-Type: text/plain\\r\\nContent-Length: %zu\\r\\nConnection: close\\r\\n\\r\\n%s", status, strlen(version), version);
      if (write(c, out, len) < 0) {}
      close(c);
    }
  }
}
`;

/** Builds localhost/flotilla-echo:<version> for each version (a ~800 KB image) and loads it into the real node. */
export async function buildEchoImages(versions: string[]): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-echo-'));
  try {
    writeFileSync(join(dir, 'echo.c'), ECHO_C);
    await execFileAsync('gcc', ['-static', '-Os', '-s', '-o', join(dir, 'echo'), join(dir, 'echo.c')]);
    writeFileSync(
      join(dir, 'Containerfile'),
      'FROM scratch\nCOPY echo /echo\nCOPY version /version\nUSER 65532:65532\nEXPOSE 8080\nENTRYPOINT ["/echo"]\n',
    );
    const images: string[] = [];
    for (const version of versions) {
      writeFileSync(join(dir, 'version'), `${version}\n`);
      const image = `localhost/flotilla-echo:${version}`;
      await podmanShell(`podman build --quiet --pull=never -t ${image} ${dir} >/dev/null`);
      await loadImage(image);
      images.push(image);
    }
    return images;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface LeaderSpan {
  pod: string;
  became: number;
  /** When it stopped writing (its "stopped" line), or Infinity while it runs. */
  stopped: number;
}

/**
 * Follows the logs of every Pod of a release through the kubelet (`kubectl logs -f`), from its start,
 * so that the logs of a Pod deleted meanwhile are kept; tells when each one led.
 */
export class ReleaseLogs {
  private readonly followers = new Map<string, ChildProcess>();
  private readonly lines = new Map<string, string[]>();
  private timer: NodeJS.Timeout | undefined;
  private readonly cluster: TestCluster;
  private readonly namespace: string;
  private readonly selector: string;

  constructor(cluster: TestCluster, namespace: string, selector: string) {
    this.cluster = cluster;
    this.namespace = namespace;
    this.selector = selector;
  }

  start(): void {
    const poll = async () => {
      const pods = await this.cluster
        .kubectl([
          '-n',
          this.namespace,
          'get',
          'pods',
          '-l',
          this.selector,
          '-o',
          'jsonpath={range .items[?(@.status.phase=="Running")]}{.metadata.name}{"\\n"}{end}',
        ])
        .catch(() => '');
      for (const pod of pods.split('\n').filter(Boolean)) this.follow(pod);
    };
    void poll();
    this.timer = setInterval(() => void poll(), 300);
  }

  private follow(pod: string): void {
    if (this.followers.has(pod)) return;
    const kubectl = join(binariesDir(readVersions()), 'kubectl');
    const child = spawn(
      kubectl,
      ['--kubeconfig', this.cluster.kubeconfigPath, '-n', this.namespace, 'logs', '-f', pod],
      {
        stdio: ['ignore', 'pipe', 'ignore'],
      },
    );
    this.followers.set(pod, child);
    const lines: string[] = [];
    this.lines.set(pod, lines);
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => lines.push(line));
    // A follower that ended early (the container had not started) is retried at the next poll.
    child.on('exit', () => {
      if (lines.length === 0) this.followers.delete(pod);
    });
  }

  /** Each Pod's JSON log lines. */
  entries(pod: string): Array<{ time: string; msg: string }> {
    return (this.lines.get(pod) ?? []).flatMap((line) => {
      try {
        return [JSON.parse(line) as { time: string; msg: string }];
      } catch {
        return [];
      }
    });
  }

  pods(): string[] {
    return [...this.lines.keys()];
  }

  /** When each Pod led: from its "became leader" line to its "stopped" line. */
  leaderSpans(): LeaderSpan[] {
    return this.pods().flatMap((pod) => {
      const entries = this.entries(pod);
      const became = entries.find((e) => e.msg === 'became leader');
      if (!became) return [];
      const stopped = entries.find((e) => e.msg === 'stopped');
      return [
        {
          pod,
          became: Date.parse(became.time),
          stopped: stopped ? Date.parse(stopped.time) : Number.POSITIVE_INFINITY,
        },
      ];
    });
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    for (const child of this.followers.values()) child.kill();
  }
}

/**
 * Asserts that no two Pods led at once: each one stopped writing before the next became leader;
 * and that the logs show at least `leaders` terms (so that the check saw the handovers).
 */
export function assertOneLeaderAtATime(spans: LeaderSpan[], leaders: number): void {
  assert.ok(spans.length >= leaders, `the logs show ${spans.length} leaders, expected at least ${leaders}`);
  const ordered = [...spans].sort((a, b) => a.became - b.became);
  for (let i = 1; i < ordered.length; i++) {
    const before = ordered[i - 1] as LeaderSpan;
    const next = ordered[i] as LeaderSpan;
    assert.ok(
      before.stopped <= next.became,
      `${next.pod} became leader at ${new Date(next.became).toISOString()} while ${before.pod} led ` +
        `(it stopped at ${Number.isFinite(before.stopped) ? new Date(before.stopped).toISOString() : 'never'})`,
    );
  }
}
