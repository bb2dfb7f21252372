// Prepares a kind cluster for the suite (scripts/test.ts runs it with FLOTILLA_CLUSTER_BACKEND=kind):
// the echo image the tests' pods are put on (localhost/flotilla-echo:simulated, loaded into every
// node) and the MutatingAdmissionPolicy that does it (simulated-pods.yaml), then a server-side dry
// run that proves the policy acts. Run alone: `node e2e/kind/simulated-pods.ts`.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildEchoImages } from '../real-node/support.ts';
import { connectToCluster } from '../support/cluster.ts';
import { eventually } from '../support/eventually.ts';

export const SIMULATED_IMAGE = 'localhost/flotilla-echo:simulated';
const POLICY = fileURLToPath(new URL('simulated-pods.yaml', import.meta.url));

export async function prepareSimulatedPods(): Promise<void> {
  const cluster = await connectToCluster();
  const providers = await cluster.kubectl(['get', 'nodes', '-o', 'jsonpath={.items[*].spec.providerID}']);
  assert.match(providers, /^kind:\/\//, 'the simulated pods policy is for a kind cluster (kwok simulates pods itself)');
  const [image] = await buildEchoImages(['simulated']);
  assert.equal(image, SIMULATED_IMAGE);
  await cluster.kubectl(['apply', '--server-side', '--force-conflicts', '-f', '-'], {
    input: readFileSync(POLICY, 'utf8'),
  });
  const probe = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'flotilla-simulated-probe', namespace: 'default', labels: { 'flotilla.dev/simulate': 'crash' } },
    spec: { containers: [{ name: 'app', image: 'registry.example.com/probe:1', ports: [{ containerPort: 8002 }] }] },
  };
  await eventually(
    'the policy puts a pod on the echo image (server-side dry run)',
    async () => {
      const out = await cluster.kubectl(['create', '--dry-run=server', '-o', 'json', '-f', '-'], {
        input: JSON.stringify(probe),
      });
      const container = (JSON.parse(out) as { spec: { containers: { image: string; env?: object[] }[] } }).spec
        .containers[0];
      assert.equal(container?.image, SIMULATED_IMAGE);
      assert.deepEqual(container?.env, [
        { name: 'ECHO_PORTS', value: '8002' },
        { name: 'ECHO_FAIL', value: 'crash' },
        { name: 'ECHO_EXIT' }, // an empty value is not kept
      ]);
    },
    { timeoutMs: 30_000, intervalMs: 1000 },
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const started = Date.now();
  try {
    await prepareSimulatedPods();
    console.error(
      `[kind] simulated pods: the echo image and the policy ready in ${((Date.now() - started) / 1000).toFixed(1)}s`,
    );
  } catch (error) {
    console.error(`[kind] simulated pods: FAILED: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}
