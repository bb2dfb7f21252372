// Helpers shared by the runtime integration tests (runtime-*.test.ts).
import { anyFieldsCrd } from '../../scripts/route-crds.ts';
import type { TestCluster } from '../support/cluster.ts';

/** Creates `name` unless it exists. */
export async function ensureNamespace(cluster: TestCluster, name: string): Promise<void> {
  const manifest = JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  await cluster.kubectl(['apply', '-f', '-'], { input: manifest });
}

/** A name no earlier run used: tests can be re-run against the same cluster. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}${Math.floor(Math.random() * 1296).toString(36)}`;
}

/** A namespaced CRD `<plural>.runtime-test.flotilla.dev`, v1, any fields, with a status subresource. */
export function throwawayCrd(kind: string, plural: string) {
  const group = 'runtime-test.flotilla.dev';
  return {
    type: { group, version: 'v1', kind, plural, namespaced: true },
    manifest: anyFieldsCrd(group, kind, plural),
  };
}

export async function installCrd(cluster: TestCluster, manifest: object): Promise<void> {
  const name = (manifest as { metadata: { name: string } }).metadata.name;
  // A CRD an earlier run deleted may still be terminating: it cannot be applied until it is gone.
  await cluster.kubectl(['wait', '--for=delete', '--timeout=60s', `crd/${name}`]).catch(() => undefined);
  await cluster.kubectl(['apply', '-f', '-'], { input: JSON.stringify(manifest) });
  await cluster.kubectl(['wait', '--for=condition=Established', '--timeout=60s', `crd/${name}`]);
}

export async function deleteCrd(cluster: TestCluster, name: string): Promise<void> {
  await cluster.kubectl(['delete', 'crd', name, '--ignore-not-found', '--wait=false']);
}
