import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The local cluster's name: `flotilla`, or FLOTILLA_CLUSTER_NAME for a second instance beside it
 * (its own state folder and ports, e.g. to try `up --real-node` while `flotilla` serves tests).
 */
export const CLUSTER_NAME = process.env.FLOTILLA_CLUSTER_NAME || 'flotilla';

export const clusterToolDir = dirname(fileURLToPath(import.meta.url));

export interface ClusterVersions {
  KUBERNETES_VERSION: string;
  ETCD_VERSION: string;
  KWOK_VERSION: string;
  HELM_VERSION: string;
}

/** Parses a KEY=value file (versions.env): `#` comments and blank lines ignored. */
export function parseEnvFile(text: string, fileName = 'versions.env'): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const eq = trimmed.indexOf('=');
    if (eq < 1) throw new Error(`${fileName}: cannot read line ${JSON.stringify(line)}`);
    values.set(trimmed.slice(0, eq), trimmed.slice(eq + 1));
  }
  return values;
}

/** Parses versions.env and names a missing key. */
export function parseVersionsEnv(text: string): ClusterVersions {
  const values = parseEnvFile(text);
  const required = ['KUBERNETES_VERSION', 'ETCD_VERSION', 'KWOK_VERSION', 'HELM_VERSION'] as const;
  const result: Partial<ClusterVersions> = {};
  for (const key of required) {
    const value = values.get(key);
    if (!value) throw new Error(`versions.env: ${key} is missing`);
    result[key] = value;
  }
  return result as ClusterVersions;
}

export function readVersions(): ClusterVersions {
  return parseVersionsEnv(readFileSync(join(clusterToolDir, 'versions.env'), 'utf8'));
}

/** The user's cache folder for Flotilla: $XDG_CACHE_HOME/flotilla or ~/.cache/flotilla. */
export function flotillaCacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'flotilla');
}

/** The version-keyed folder the control plane's programs are built into (must match build.sh). */
export function binariesDir(versions: ClusterVersions, env: NodeJS.ProcessEnv = process.env): string {
  const key = `k8s-${versions.KUBERNETES_VERSION}-etcd-${versions.ETCD_VERSION}-kwok-${versions.KWOK_VERSION}-helm-${versions.HELM_VERSION}`;
  return join(flotillaCacheRoot(env), `cluster-${key}`, 'bin');
}

/** Where kwokctl keeps the local cluster's state, kubeconfig and logs. */
export function kwokWorkdir(env: NodeJS.ProcessEnv = process.env): string {
  return join(flotillaCacheRoot(env), 'kwok');
}

/** kwokctl's folder of the local cluster: its pki/, logs/, etcd data and kubeconfig. */
export function localClusterDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(kwokWorkdir(env), 'clusters', CLUSTER_NAME);
}

export function localKubeconfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(localClusterDir(env), 'kubeconfig.yaml');
}

export function kindKubeconfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(flotillaCacheRoot(env), 'kind', CLUSTER_NAME, 'kubeconfig.yaml');
}
