// The one HTTP path to the API server: every request of the process goes through ONE keep-alive
// agent of Node's own http/https (the kubeconfig's TLS material), not a new agent per request as
// the library does when TLS options exist (KUBERNETES-CLIENT.md row 5). Credentials come from the
// kubeconfig, so tokens, client certificates, exec plugins and in-cluster service accounts all work.
// Node's http rather than undici: undici parses HTTP with a WebAssembly llhttp that costs the
// process ~15 MiB of RSS (its compiled module and the compiler's pages) beside Node's native one.
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Duplex } from 'node:stream';
import { finished } from 'node:stream/promises';
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

/** A response body: its chunks as they come (a watch), or read whole. */
export interface ResponseBody extends AsyncIterable<Buffer> {
  text(): Promise<string>;
  json(): Promise<unknown>;
  /** Reads and drops the body, so that the connection is reused. */
  dump(): Promise<void>;
}

export interface KubeResponse {
  statusCode: number;
  body: ResponseBody;
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

const METHOD: Record<Verb, string> = {
  GET: 'GET',
  LIST: 'GET',
  WATCH: 'GET',
  CREATE: 'POST',
  UPDATE: 'PUT',
  PATCH: 'PATCH',
  APPLY: 'PATCH',
  DELETE: 'DELETE',
};

/** Until the response headers, and between two chunks of a body unless the request says otherwise. */
const TIMEOUT_MS = 60_000;

function bodyOf(response: IncomingMessage): ResponseBody {
  const text = async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of response) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  };
  return {
    [Symbol.asyncIterator]: () => response[Symbol.asyncIterator](),
    text,
    json: async () => JSON.parse(await text()) as unknown,
    dump: async () => {
      response.resume();
      await finished(response).catch(() => {});
    },
  };
}

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
  const secure = server.protocol === 'https:';
  let connectionsOpened = 0;
  const agentOptions = {
    keepAlive: true,
    keepAliveMsecs: 30_000,
    ca: tls.ca,
    cert: tls.cert,
    key: tls.key,
    ...(tls.servername ? { servername: tls.servername } : {}),
    rejectUnauthorized: cluster.skipTLSVerify ? false : tls.rejectUnauthorized,
  };
  const agent = secure ? new HttpsAgent(agentOptions) : new HttpAgent(agentOptions);
  const connect = agent.createConnection.bind(agent) as (...args: unknown[]) => Duplex;
  agent.createConnection = ((...args: unknown[]) => {
    connectionsOpened++;
    return connect(...args);
  }) as typeof agent.createConnection;
  const send = secure ? httpsRequest : httpRequest;
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
      let response: IncomingMessage;
      try {
        response = await new Promise<IncomingMessage>((resolve, reject) => {
          const outgoing = send({
            protocol: server.protocol,
            hostname: server.hostname.replace(/^\[(.*)\]$/, '$1'),
            port: server.port || (secure ? 443 : 80),
            path: fullPath,
            method: METHOD[verb],
            headers: payload === undefined ? headers : { ...headers, 'Content-Length': Buffer.byteLength(payload) },
            agent,
            ...(signal ? { signal } : {}),
          });
          outgoing.once('response', resolve);
          outgoing.once('error', reject);
          outgoing.setTimeout(TIMEOUT_MS, () => outgoing.destroy(new Error(`no response within ${TIMEOUT_MS} ms`)));
          outgoing.end(payload);
        });
      } catch (error) {
        observer?.(verb, 'error', performance.now() - started);
        throw error;
      }
      // From here the socket's idle timeout bounds the silence between two chunks of the body.
      const bodyTimeout = bodyTimeoutMs ?? TIMEOUT_MS;
      response.setTimeout(bodyTimeout, () => response.destroy(new Error(`body silent for ${bodyTimeout} ms`)));
      const statusCode = response.statusCode ?? 0;
      observer?.(verb, String(statusCode), performance.now() - started);
      const responseBody = bodyOf(response);
      if (statusCode >= 300) {
        const text = await responseBody.text().catch(() => '');
        throw new KubeApiError(verb, path, statusCode, parseStatus(text, statusCode));
      }
      return { statusCode, body: responseBody };
    },
    connectionsOpened: () => connectionsOpened,
    close: async () => agent.destroy(),
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
