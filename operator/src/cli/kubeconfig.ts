// Which cluster `flotilla run` talks to: --kubeconfig; else in-cluster (a ServiceAccount token is
// mounted); else $KUBECONFIG (its files merged, as kubectl merges them); else ~/.kube/config; else the local cluster `npm run cluster -- up`
// brought up (its kubeconfig path is in $XDG_CACHE_HOME/flotilla/current-kubeconfig).
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { Kubeconfig } from '../kube/kubeconfig.ts';

const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface LoadedKubeConfig {
  kubeConfig: Kubeconfig;
  /** Where it came from, for the log: a file path or `in-cluster`. */
  source: string;
  inCluster: boolean;
}

/** $KUBECONFIG's files that exist, in order: kubectl merges them all. */
export function kubeconfigFromEnv(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env.KUBECONFIG ?? '').split(delimiter).filter((file) => file && existsSync(file));
}

/** The kubeconfig files to try, one by one, when none is named and $KUBECONFIG has none. */
export function kubeconfigCandidates(env: NodeJS.ProcessEnv = process.env): string[] {
  const candidates = [join(homedir(), '.kube', 'config')];
  const pointer = join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'flotilla', 'current-kubeconfig');
  if (existsSync(pointer)) candidates.push(readFileSync(pointer, 'utf8').trim());
  return candidates;
}

export function isInCluster(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.KUBERNETES_SERVICE_HOST) && existsSync(join(SERVICE_ACCOUNT_DIR, 'token'));
}

/** The namespace the operator's Pod runs in, when in a cluster. */
export function podNamespace(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.POD_NAMESPACE) return env.POD_NAMESPACE;
  const file = join(SERVICE_ACCOUNT_DIR, 'namespace');
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined;
}

export function loadKubeConfig(explicit: string | undefined, env: NodeJS.ProcessEnv = process.env): LoadedKubeConfig {
  if (explicit) return { kubeConfig: Kubeconfig.fromFile(explicit), source: explicit, inCluster: false };
  if (isInCluster(env)) return { kubeConfig: Kubeconfig.inCluster(env), source: 'in-cluster', inCluster: true };
  const fromEnv = kubeconfigFromEnv(env);
  if (fromEnv.length > 0) {
    return { kubeConfig: Kubeconfig.fromFiles(fromEnv), source: fromEnv.join(delimiter), inCluster: false };
  }
  const found = kubeconfigCandidates(env).find((path) => existsSync(path));
  if (!found) {
    throw new Error(
      'no kubeconfig: pass --kubeconfig, set KUBECONFIG, create ~/.kube/config, or bring up the local cluster with `npm run cluster -- up`',
    );
  }
  return { kubeConfig: Kubeconfig.fromFile(found), source: found, inCluster: false };
}
