// The metrics fixture the analysis tests control: an HTTP server on loopback whose /metrics shows,
// per workload (the Deployment name, as Istio's destination_workload label carries it), the
// request counters of a service at a configurable rate, error ratio and latency — so Prometheus
// scrapes real counters and computes the rate()s itself.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Traffic {
  /** Requests per second. */
  rps: number;
  /** Share of them answered 5xx, 0–1. */
  errorRatio: number;
  /** Every request's latency, in milliseconds. */
  latencyMs: number;
}

interface Series extends Traffic {
  ok: number;
  errors: number;
  durationSum: number;
  /** Counts per bucket bound (seconds). */
  buckets: Map<number, number>;
  at: number;
}

const BOUNDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface MetricsFixture {
  /** host:port, for Prometheus. */
  target: string;
  /** Sets a workload's traffic from now on (counters keep what they counted). */
  set(workload: string, traffic: Traffic): void;
  /** Stops counting a workload: its series stay, without new requests (rate 0). */
  stop(workload: string): void;
  close(): Promise<void>;
}

export async function startMetricsFixture(): Promise<MetricsFixture> {
  const series = new Map<string, Series>();
  const advance = (now: number) => {
    for (const s of series.values()) {
      const requests = (s.rps * (now - s.at)) / 1000;
      s.at = now;
      const errors = requests * s.errorRatio;
      s.errors += errors;
      s.ok += requests - errors;
      s.durationSum += (requests * s.latencyMs) / 1000;
      for (const bound of BOUNDS) {
        if (s.latencyMs / 1000 <= bound) s.buckets.set(bound, (s.buckets.get(bound) ?? 0) + requests);
      }
    }
  };
  const render = (): string => {
    advance(Date.now());
    const lines = [
      '# HELP app_requests_total Requests served, by workload and status code.',
      '# TYPE app_requests_total counter',
    ];
    for (const [workload, s] of series) {
      lines.push(`app_requests_total{workload="${workload}",code="200"} ${s.ok}`);
      lines.push(`app_requests_total{workload="${workload}",code="500"} ${s.errors}`);
    }
    lines.push('# HELP app_request_duration_seconds Request latency.', '# TYPE app_request_duration_seconds histogram');
    for (const [workload, s] of series) {
      for (const bound of BOUNDS) {
        lines.push(
          `app_request_duration_seconds_bucket{workload="${workload}",le="${bound}"} ${s.buckets.get(bound) ?? 0}`,
        );
      }
      lines.push(`app_request_duration_seconds_bucket{workload="${workload}",le="+Inf"} ${s.ok + s.errors}`);
      lines.push(`app_request_duration_seconds_sum{workload="${workload}"} ${s.durationSum}`);
      lines.push(`app_request_duration_seconds_count{workload="${workload}"} ${s.ok + s.errors}`);
    }
    return `${lines.join('\n')}\n`;
  };
  const server: Server = createServer((request, response) => {
    if (request.url !== '/metrics') {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(render());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    target: `127.0.0.1:${port}`,
    set(workload, traffic) {
      advance(Date.now());
      const existing = series.get(workload);
      if (existing) Object.assign(existing, traffic);
      else series.set(workload, { ...traffic, ok: 0, errors: 0, durationSum: 0, buckets: new Map(), at: Date.now() });
    },
    stop(workload) {
      advance(Date.now());
      const existing = series.get(workload);
      if (existing) existing.rps = 0;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
