// Which cluster, user and namespace the plugin uses — kubectl's rules: `--kubeconfig` alone when
// given; else every file of $KUBECONFIG merged (the first file to name a cluster, user or context
// wins, and the first current-context set wins); else ~/.kube/config; else the Pod's service account.
// `--context` picks another context; the namespace is `-n`, else the context's, else `default`.
// The merged document is handed to the operator's own reader (kube/kubeconfig.ts).
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { Kubeconfig, mergeKubeconfigFiles } from '../kube/kubeconfig.ts';

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

/** The kubeconfig files in effect, in order of precedence. */
export function kubeconfigFiles(flags: KubectlFlags, env: NodeJS.ProcessEnv = process.env): string[] {
  if (flags.kubeconfig) return [flags.kubeconfig];
  if (env.KUBECONFIG) return env.KUBECONFIG.split(delimiter).filter((file) => file && existsSync(file));
  const home = join(env.HOME || homedir(), '.kube', 'config');
  return existsSync(home) ? [home] : [];
}

export function resolveAccess(flags: KubectlFlags, env: NodeJS.ProcessEnv = process.env): ResolvedAccess {
  const files = kubeconfigFiles(flags, env);
  if (files.length === 0) {
    if (env.KUBERNETES_SERVICE_HOST) {
      return { kubeConfig: Kubeconfig.inCluster(env), namespace: flags.namespace ?? 'default', context: 'in-cluster' };
    }
    throw new Error('no kubeconfig: pass --kubeconfig, set KUBECONFIG, or create ~/.kube/config');
  }
  const merged = mergeKubeconfigFiles(files);
  const context = flags.context ?? merged['current-context'];
  const origin = files.join(delimiter);
  if (!context) throw new Error(`${origin} sets no current-context: pass --context`);
  const entry = merged.contexts?.find((c) => c.name === context);
  if (!entry) throw new Error(`context ${context} is not in ${origin}`);
  const contextNamespace = (entry.context as { namespace?: string } | undefined)?.namespace;
  const kubeConfig = Kubeconfig.fromMerged(merged, origin, context);
  return { kubeConfig, namespace: flags.namespace ?? (contextNamespace || 'default'), context };
}
