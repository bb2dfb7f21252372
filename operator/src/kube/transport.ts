// The one HTTP path to the API server: every request of the process goes through ONE undici Agent
// (keep-alive, the kubeconfig's TLS material), not a new agent per request as the library does
// when TLS options exist (KUBERNETES-CLIENT.md row 5). Credentials come from the kubeconfig, so
// tokens, client certificates, exec plugins and in-cluster service accounts all work.
import { Agent, buildConnector, type Dispatcher } from 'undici';
import { type ApiStatus, KubeApiError } from './errors.ts';
import type { HttpsOptions, KubeAccess } from './kubeconfig.ts';

export type Verb = 'GET' | 'LIST' | 'WATCH' | 'CREATE' | 'UPDATE' | 'PATCH' | 'APPLY' | 'DELETE';

export interface KubeRequest {
  verb: Verb;
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  /** Serialised as JSON unless it is already a string. */
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
  /** Milliseconds of silence after which a streaming body is given up (watches). */
  bodyTimeoutMs?: number;
}

export interface KubeResponse {
  statusCode: number;
  body: Dispatcher.ResponseData['body'];
}

/** Called once per request with its verb, HTTP status (or 'error' when no answer came) and duration. */
export type RequestObserver = (verb: Verb, code: string, durationMs: number) => void;

export interface KubeTransport {
  readonly server: string;
  /** Sends the request; rejects with a KubeApiError for a non-2xx answer, after reading its Status. */
  request(request: KubeRequest): Promise<KubeResponse>;
  /** Connections opened so far (a keep-alive agent opens few). */
  connectionsOpened(): number;
  close(): Promise<void>;
}

const METHOD: Record<Verb, Dispatcher.HttpMethod> = {
  GET: 'GET',
  LIST: 'GET',
  WATCH: 'GET',
  CREATE: 'POST',
  UPDATE: 'PUT',
  PATCH: 'PATCH',
  APPLY: 'PATCH',
  DELETE: 'DELETE',
};

/** How long fetched credentials are reused before the kubeconfig is asked again (tokens rotate). */
const CREDENTIALS_TTL_MS = 60_000;

interface Credentials {
  headers: Record<string, string>;
  fetchedAt: number;
}

async function readCredentials(
  kubeConfig: KubeAccess,
): Promise<{ tls: HttpsOptions; headers: Record<string, string> }> {
  const options: HttpsOptions = {};
  await kubeConfig.applyToHTTPSOptions(options);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(options.headers ?? {})) headers[name] = String(value);
  if (options.auth) headers.Authorization = `Basic ${Buffer.from(options.auth).toString('base64')}`;
  return { tls: options, headers };
}

export async function createTransport(
  kubeConfig: KubeAccess,
  { observer, userAgent = 'flotilla' }: { observer?: RequestObserver; userAgent?: string } = {},
): Promise<KubeTransport> {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig names no current cluster');
  const server = new URL(cluster.server);
  const first = await readCredentials(kubeConfig);
  const { tls } = first;
  const connector = buildConnector({
    ca: tls.ca,
    cert: tls.cert,
    key: tls.key,
    servername: tls.servername,
    rejectUnauthorized: cluster.skipTLSVerify ? false : tls.rejectUnauthorized,
    keepAlive: true,
    keepAliveInitialDelay: 30_000,
    allowH2: false,
  });
  let connectionsOpened = 0;
  const agent = new Agent({
    connect: (options, callback) => {
      connectionsOpened++;
      connector(options, callback);
    },
    // HTTP/1.1: undici's HTTP/2 streams leave an unhandled error behind when a watch is aborted and
    // the agent closes; long watches are also better on their own connections than multiplexed.
    allowH2: false,
    keepAliveTimeout: 60_000,
    headersTimeout: 60_000,
    bodyTimeout: 60_000,
  });
  let credentials: Credentials = { headers: first.headers, fetchedAt: Date.now() };
  let refreshing: Promise<void> | undefined;
  const currentHeaders = async (): Promise<Record<string, string>> => {
    if (Date.now() - credentials.fetchedAt > CREDENTIALS_TTL_MS) {
      refreshing ??= readCredentials(kubeConfig)
        .then(({ headers }) => {
          credentials = { headers, fetchedAt: Date.now() };
        })
        .finally(() => {
          refreshing = undefined;
        });
      await refreshing;
    }
    return credentials.headers;
  };
  const basePath = server.pathname.replace(/\/$/, '');

  return {
    server: server.origin,
    async request({ verb, path, query, body, contentType, signal, bodyTimeoutMs }) {
      const search = new URLSearchParams();
      for (const [name, value] of Object.entries(query ?? {})) {
        if (value !== undefined) search.set(name, String(value));
      }
      const fullPath = `${basePath}${path}${search.size > 0 ? `?${search}` : ''}`;
      const headers: Record<string, string> = {
        ...(await currentHeaders()),
        Accept: 'application/json',
        'User-Agent': userAgent,
      };
      let payload: string | undefined;
      if (body !== undefined) {
        payload = typeof body === 'string' ? body : JSON.stringify(body);
        headers['Content-Type'] = contentType ?? 'application/json';
      }
      const started = performance.now();
      let response: Dispatcher.ResponseData;
      try {
        response = await agent.request({
          origin: server.origin,
          path: fullPath,
          method: METHOD[verb],
          headers,
          body: payload,
          signal,
          ...(bodyTimeoutMs !== undefined ? { bodyTimeout: bodyTimeoutMs } : {}),
        });
      } catch (error) {
        observer?.(verb, 'error', performance.now() - started);
        throw error;
      }
      observer?.(verb, String(response.statusCode), performance.now() - started);
      if (response.statusCode >= 300) {
        const text = await response.body.text().catch(() => '');
        throw new KubeApiError(verb, path, response.statusCode, parseStatus(text, response.statusCode));
      }
      return { statusCode: response.statusCode, body: response.body };
    },
    connectionsOpened: () => connectionsOpened,
    close: () => agent.close(),
  };
}

function parseStatus(text: string, code: number): ApiStatus {
  try {
    const parsed = JSON.parse(text) as ApiStatus;
    if (parsed && typeof parsed === 'object') return parsed;
  } catch {
    // not JSON: keep the text as the message
  }
  return { code, message: text.slice(0, 500) };
}
