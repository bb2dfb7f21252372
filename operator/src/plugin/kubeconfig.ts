// Which cluster, user and namespace the plugin uses — kubectl's rules: `--kubeconfig` alone when
// given; else every file of $KUBECONFIG merged (the first file to name a cluster, user or context
// wins, and the first current-context set wins); else ~/.kube/config; else the Pod's service account.
// `--context` picks another context; the namespace is `-n`, else the context's, else `default`.
// The merged document is handed to the operator's own reader (kube/kubeconfig.ts).
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
import { dump, load } from 'js-yaml';
import { Kubeconfig } from '../kube/kubeconfig.ts';

export interface KubectlFlags {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
}

export interface ResolvedAccess {
  kubeConfig: Kubeconfig;
  /** The namespace commands act in. */
  namespace: string;
  /** The context used, or `in-cluster`. */
  context: string;
}

type Named = { name: string; [key: string]: unknown };
interface Document {
  'current-context'?: string;
  clusters?: Named[];
  users?: Named[];
  contexts?: Named[];
}

/** Fields holding file paths, relative to the kubeconfig that holds them. */
const PATH_FIELDS: Record<'clusters' | 'users', { entry: string; fields: string[] }> = {
  clusters: { entry: 'cluster', fields: ['certificate-authority'] },
  users: { entry: 'user', fields: ['client-certificate', 'client-key', 'tokenFile'] },
};

/** The kubeconfig files in effect, in order of precedence. */
export function kubeconfigFiles(flags: KubectlFlags, env: NodeJS.ProcessEnv = process.env): string[] {
  if (flags.kubeconfig) return [flags.kubeconfig];
  if (env.KUBECONFIG) return env.KUBECONFIG.split(delimiter).filter((file) => file && existsSync(file));
  const home = join(env.HOME || homedir(), '.kube', 'config');
  return existsSync(home) ? [home] : [];
}

/** Merges kubeconfig documents as kubectl does; relative paths are made absolute against `baseDirs`. */
export function mergeKubeconfigs(documents: readonly { document: Document; baseDir: string }[]): Document {
  const merged: Required<Document> = { 'current-context': '', clusters: [], users: [], contexts: [] };
  for (const { document, baseDir } of documents) {
    if (!merged['current-context'] && document['current-context']) {
      merged['current-context'] = document['current-context'];
    }
    for (const section of ['clusters', 'users', 'contexts'] as const) {
      for (const item of document[section] ?? []) {
        if (merged[section].some((existing) => existing.name === item.name)) continue;
        merged[section].push(section === 'contexts' ? item : absolutePaths(section, item, baseDir));
      }
    }
  }
  return merged;
}

function absolutePaths(section: 'clusters' | 'users', item: Named, baseDir: string): Named {
  const { entry, fields } = PATH_FIELDS[section];
  const body = { ...((item[entry] as Record<string, unknown> | undefined) ?? {}) };
  for (const field of fields) {
    const value = body[field];
    if (typeof value === 'string' && value && !isAbsolute(value)) body[field] = join(baseDir, value);
  }
  return { ...item, [entry]: body };
}

export function resolveAccess(flags: KubectlFlags, env: NodeJS.ProcessEnv = process.env): ResolvedAccess {
  const files = kubeconfigFiles(flags, env);
  if (files.length === 0) {
    if (env.KUBERNETES_SERVICE_HOST) {
      return { kubeConfig: Kubeconfig.inCluster(env), namespace: flags.namespace ?? 'default', context: 'in-cluster' };
    }
    throw new Error('no kubeconfig: pass --kubeconfig, set KUBECONFIG, or create ~/.kube/config');
  }
  const merged = mergeKubeconfigs(
    files.map((file) => ({ document: (load(readFileSync(file, 'utf8')) ?? {}) as Document, baseDir: dirname(file) })),
  );
  const context = flags.context ?? merged['current-context'];
  const origin = files.join(delimiter);
  if (!context) throw new Error(`${origin} sets no current-context: pass --context`);
  const entry = merged.contexts?.find((c) => c.name === context);
  if (!entry) throw new Error(`context ${context} is not in ${origin}`);
  const contextNamespace = (entry.context as { namespace?: string } | undefined)?.namespace;
  const kubeConfig = Kubeconfig.fromString(dump({ ...merged, 'current-context': context }), '/', origin);
  return { kubeConfig, namespace: flags.namespace ?? (contextNamespace || 'default'), context };
}
