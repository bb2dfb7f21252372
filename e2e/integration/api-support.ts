// Helpers of the API tests: install the generated CRDs, run kubectl expecting a failure.
import { fileURLToPath } from 'node:url';
import { RESOURCES } from '../../operator/src/api/crd.ts';
import { GROUP } from '../../operator/src/api/index.ts';
import type { TestCluster } from '../support/cluster.ts';

export const CRDS_DIR = fileURLToPath(new URL('../../crds/', import.meta.url));
export const SAMPLES_DIR = fileURLToPath(new URL('../../samples/', import.meta.url));

/** Applies crds/ as a user would (server-side) and waits until the API server serves all three. */
export async function installCrds(cluster: TestCluster): Promise<void> {
  await cluster.kubectl(['apply', '--server-side', '--force-conflicts', '-f', CRDS_DIR]);
  const names = RESOURCES.map((resource) => `crd/${resource.plural}.${GROUP}`);
  await cluster.kubectl(['wait', '--for=condition=Established', '--timeout=60s', ...names]);
}

/** Creates the namespace if it is missing (idempotent). */
export async function ensureNamespace(cluster: TestCluster, name: string): Promise<void> {
  await cluster.kubectl(['apply', '-f', '-'], {
    input: JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }),
  });
}

/** Runs kubectl, expecting it to fail; returns its stderr. Throws when it succeeds. */
export async function kubectlFails(
  cluster: TestCluster,
  args: string[],
  options: { input?: string } = {},
): Promise<string> {
  let stdout: string;
  try {
    stdout = await cluster.kubectl(args, options);
  } catch (error) {
    const stderr = (error as { stderr?: unknown }).stderr;
    return typeof stderr === 'string' && stderr !== '' ? stderr : String(error);
  }
  throw new Error(`kubectl ${args.join(' ')} succeeded, but should have failed:\n${stdout}`);
}
