// Reads a kubeconfig (or the in-cluster service account) into what the transport needs: the
// current cluster and, per request batch, the TLS material and auth headers. It covers what
// clusters hand out — client certificates, bearer tokens, token files, basic auth, impersonation.
// Users with an `exec` plugin or a legacy `auth-provider` are handed to @kubernetes/client-node's
// KubeConfig, loaded only then: that library costs about 80 MiB of memory the moment it is
// imported, more than the operator's whole cache of a large cluster.
import { existsSync, readFileSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
import { dump, load } from 'js-yaml';

/** What the transport reads of the current cluster. */
export interface KubeCluster {
  name: string;
  server: string;
  skipTLSVerify: boolean;
  tlsServerName?: string;
}

/** The TLS options and headers of a request, filled in by applyToHTTPSOptions. */
export interface HttpsOptions {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  rejectUnauthorized?: boolean;
  servername?: string;
  headers?: Record<string, string | string[] | number>;
  auth?: string;
}

/** Where the API server is and how to authenticate to it (this module's, or the library's KubeConfig). */
export interface KubeAccess {
  getCurrentCluster(): KubeCluster | null;
  applyToHTTPSOptions(options: HttpsOptions): Promise<void>;
}

interface ClusterEntry {
  server?: string;
  'certificate-authority'?: string;
  'certificate-authority-data'?: string;
  'insecure-skip-tls-verify'?: boolean;
  'tls-server-name'?: string;
}

interface UserEntry {
  'client-certificate'?: string;
  'client-certificate-data'?: string;
  'client-key'?: string;
  'client-key-data'?: string;
  token?: string;
  tokenFile?: string;
  username?: string;
  password?: string;
  as?: string;
  exec?: unknown;
  'auth-provider'?: unknown;
}

export interface KubeconfigDocument {
  'current-context'?: string;
  clusters?: { name: string; cluster?: ClusterEntry }[];
  users?: { name: string; user?: UserEntry }[];
  contexts?: { name: string; context?: { cluster?: string; user?: string; namespace?: string } }[];
}

const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

const absolute = (baseDir: string, file: string | undefined): string | undefined =>
  file === undefined || isAbsolute(file) ? file : join(baseDir, file);

const fileOrData = (file: string | undefined, data: string | undefined): Buffer | undefined =>
  file ? readFileSync(file) : data ? Buffer.from(data, 'base64') : undefined;

export class Kubeconfig implements KubeAccess {
  private readonly cluster: KubeCluster;
  private readonly clusterEntry: ClusterEntry;
  private readonly user: UserEntry;
  /** The kubeconfig's text, for the library when the user needs it. */
  private readonly source: { text: string; baseDir: string } | undefined;
  private library: Promise<KubeAccess> | undefined;

  private constructor(
    cluster: KubeCluster,
    clusterEntry: ClusterEntry,
    user: UserEntry,
    source?: { text: string; baseDir: string },
  ) {
    this.cluster = cluster;
    this.clusterEntry = clusterEntry;
    this.user = user;
    this.source = source;
  }

  static fromFile(path: string): Kubeconfig {
    return Kubeconfig.fromString(readFileSync(path, 'utf8'), dirname(path), path);
  }

  /** Several kubeconfig files merged as kubectl merges $KUBECONFIG (mergeKubeconfigFiles); `context` overrides. */
  static fromFiles(files: readonly string[], context?: string): Kubeconfig {
    if (files.length === 1 && context === undefined) return Kubeconfig.fromFile(files[0] as string);
    return Kubeconfig.fromMerged(mergeKubeconfigFiles(files), files.join(delimiter), context);
  }

  /** A document of mergeKubeconfigFiles (paths already absolute); `context` overrides its current one. */
  static fromMerged(merged: KubeconfigDocument, origin: string, context?: string): Kubeconfig {
    const current = context ?? merged['current-context'];
    return Kubeconfig.fromString(dump({ ...merged, 'current-context': current }), '/', origin);
  }

  /** `text` is a kubeconfig; relative file paths in it are relative to `baseDir`. */
  static fromString(text: string, baseDir: string, origin = 'the kubeconfig'): Kubeconfig {
    const document = (load(text) ?? {}) as KubeconfigDocument;
    const contextName = document['current-context'];
    if (!contextName) throw new Error(`${origin} sets no current-context`);
    const context = document.contexts?.find((c) => c.name === contextName)?.context;
    if (!context) throw new Error(`${origin}: current-context ${contextName} is not among its contexts`);
    const clusterEntry = document.clusters?.find((c) => c.name === context.cluster)?.cluster;
    if (!clusterEntry?.server) {
      throw new Error(
        `${origin}: context ${contextName} names cluster ${context.cluster ?? '(none)'}, which has no server`,
      );
    }
    const user = document.users?.find((u) => u.name === context.user)?.user ?? {};
    const cluster: KubeCluster = {
      name: context.cluster ?? '',
      server: clusterEntry.server,
      skipTLSVerify: clusterEntry['insecure-skip-tls-verify'] === true,
      ...(clusterEntry['tls-server-name'] ? { tlsServerName: clusterEntry['tls-server-name'] } : {}),
    };
    const resolved: ClusterEntry = {
      ...clusterEntry,
      'certificate-authority': absolute(baseDir, clusterEntry['certificate-authority']),
    };
    const resolvedUser: UserEntry = {
      ...user,
      'client-certificate': absolute(baseDir, user['client-certificate']),
      'client-key': absolute(baseDir, user['client-key']),
      tokenFile: absolute(baseDir, user.tokenFile),
    };
    return new Kubeconfig(cluster, resolved, resolvedUser, { text, baseDir });
  }

  /** The Pod's service account: the API server from the environment, its CA and (rotating) token file. */
  static inCluster(env: NodeJS.ProcessEnv = process.env, dir = SERVICE_ACCOUNT_DIR): Kubeconfig {
    const host = env.KUBERNETES_SERVICE_HOST;
    const port = env.KUBERNETES_SERVICE_PORT;
    if (!host || !port) throw new Error('not in a cluster: KUBERNETES_SERVICE_HOST and _PORT are not set');
    const tokenFile = join(dir, 'token');
    if (!existsSync(tokenFile)) throw new Error(`not in a cluster: no service account token at ${tokenFile}`);
    const server = `https://${isIPv6(host) ? `[${host}]` : host}:${port}`;
    return new Kubeconfig(
      { name: 'in-cluster', server, skipTLSVerify: false },
      { server, 'certificate-authority': join(dir, 'ca.crt') },
      { tokenFile },
    );
  }

  getCurrentCluster(): KubeCluster {
    return this.cluster;
  }

  /** Fills in TLS material and headers; files (token, certificates) are read anew on each call. */
  async applyToHTTPSOptions(options: HttpsOptions): Promise<void> {
    if (this.user.exec !== undefined || this.user['auth-provider'] !== undefined) {
      this.library ??= this.loadLibrary();
      await (await this.library).applyToHTTPSOptions(options);
      return;
    }
    const { clusterEntry, user } = this;
    if (this.cluster.skipTLSVerify) options.rejectUnauthorized = false;
    if (this.cluster.tlsServerName) options.servername = this.cluster.tlsServerName;
    const ca = fileOrData(clusterEntry['certificate-authority'], clusterEntry['certificate-authority-data']);
    if (ca) options.ca = ca;
    const cert = fileOrData(user['client-certificate'], user['client-certificate-data']);
    if (cert) options.cert = cert;
    const key = fileOrData(user['client-key'], user['client-key-data']);
    if (key) options.key = key;
    options.headers ??= {};
    const { headers } = options;
    if (user.as) headers['Impersonate-User'] = user.as;
    const token = user.tokenFile ? readFileSync(user.tokenFile, 'utf8').trim() : user.token;
    if (token) headers.Authorization = `Bearer ${token}`;
    else if (user.username) options.auth = `${user.username}:${user.password ?? ''}`;
  }

  private async loadLibrary(): Promise<KubeAccess> {
    const { KubeConfig } = await import('@kubernetes/client-node');
    const library = new KubeConfig();
    if (this.source) {
      library.loadFromString(this.source.text);
      library.makePathsAbsolute(this.source.baseDir);
    }
    return library as KubeAccess;
  }
}

/** Fields holding file paths, relative to the kubeconfig that holds them. */
const PATH_FIELDS = {
  clusters: { entry: 'cluster', fields: ['certificate-authority'] },
  users: { entry: 'user', fields: ['client-certificate', 'client-key', 'tokenFile'] },
} as const;

type Named = { name: string; [key: string]: unknown };

function withAbsolutePaths(section: keyof typeof PATH_FIELDS, item: Named, baseDir: string): Named {
  const { entry, fields } = PATH_FIELDS[section];
  const body = { ...((item[entry] as Record<string, unknown> | undefined) ?? {}) };
  for (const field of fields) {
    const value = body[field];
    if (typeof value === 'string' && value) body[field] = absolute(baseDir, value);
  }
  return { ...item, [entry]: body };
}

/**
 * Kubeconfig files merged as kubectl merges $KUBECONFIG: the first file to name a cluster, user or
 * context wins, and the first current-context set wins. (@kubernetes/client-node differs: a later
 * file's current-context wins and a name in two files is an error.) Relative paths become absolute
 * against the folder of the file that holds them, so the merged document reads from anywhere.
 */
export function mergeKubeconfigFiles(files: readonly string[]): KubeconfigDocument {
  const merged = { 'current-context': '', clusters: [] as Named[], users: [] as Named[], contexts: [] as Named[] };
  for (const file of files) {
    const document = (load(readFileSync(file, 'utf8')) ?? {}) as Record<string, unknown>;
    const current = document['current-context'];
    if (!merged['current-context'] && typeof current === 'string') merged['current-context'] = current;
    for (const section of ['clusters', 'users', 'contexts'] as const) {
      for (const item of (document[section] as Named[] | undefined) ?? []) {
        if (merged[section].some((existing) => existing.name === item.name)) continue;
        merged[section].push(section === 'contexts' ? item : withAbsolutePaths(section, item, dirname(file)));
      }
    }
  }
  return merged as KubeconfigDocument;
}
