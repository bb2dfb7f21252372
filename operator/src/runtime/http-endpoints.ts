// The process's HTTP endpoints: /healthz (alive), /readyz (every cache synced; the body tells, per
// kind, whether it synced and when its last event came) and /metrics (Prometheus text format).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface Readiness {
  ready: boolean;
  [detail: string]: unknown;
}

export interface EndpointOptions {
  host?: string;
  /** 0 picks a free port. */
  port: number;
  readiness?: () => Readiness;
  metrics?: Registry;
}

export interface RunningEndpoints {
  /** `http://host:port` */
  url: string;
  close(): Promise<void>;
}

export async function serveEndpoints({
  host = '0.0.0.0',
  port,
  readiness,
  metrics,
}: EndpointOptions): Promise<RunningEndpoints> {
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    const reply = (code: number, type: string, body: string) => {
      response.writeHead(code, { 'Content-Type': type });
      response.end(body);
    };
    if (path === '/healthz' || path === '/livez') return reply(200, 'text/plain', 'ok\n');
    if (path === '/readyz' && readiness) {
      const state = readiness();
      return reply(state.ready ? 200 : 503, 'application/json', `${JSON.stringify(state)}\n`);
    }
    if (path === '/metrics' && metrics) {
      metrics
        .metrics()
        .then((text) => reply(200, metrics.contentType, text))
        .catch((error: unknown) => reply(500, 'text/plain', `${String(error)}\n`));
      return;
    }
    reply(404, 'text/plain', 'not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shownHost}:${address.port}`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
