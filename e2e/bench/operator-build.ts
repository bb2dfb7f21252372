// The operator as users run it, for the benches: the bundle `npm run build` makes (scripts/build.ts),
// laid out as in the image (operator/src/main.js beside package.json and node_modules) in a temporary
// folder, run with the node flags of the Dockerfile's ENTRYPOINT.
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleOperator } from '../../scripts/build.ts';
import { type OperatorProcess, startOperator } from '../integration/microservice-support.ts';
import type { TestCluster } from '../support/cluster.ts';
import { entrypointNodeFlags } from './metrics-text.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const IMAGE_NODE_FLAGS = entrypointNodeFlags(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
/** How the benches say what they ran. */
export const OPERATOR_COMMAND = `node ${[...IMAGE_NODE_FLAGS, ''].join(' ')}operator/src/main.js (the bundle of npm run build)`;

let built: Promise<string> | undefined;

/** The bundled operator's main.js, built once per process; removed when the process exits. */
export function bundledOperator(): Promise<string> {
  built ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flotilla-bench-operator-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    const { file } = await bundleOperator(dir);
    cpSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    return file;
  })();
  return built;
}

/** startOperator with the bundle and the image's node flags. */
export async function startBundledOperator(
  cluster: TestCluster,
  namespace: string,
  options: { args?: readonly string[]; env?: NodeJS.ProcessEnv } = {},
): Promise<OperatorProcess> {
  return startOperator(cluster, namespace, { ...options, nodeFlags: IMAGE_NODE_FLAGS, main: await bundledOperator() });
}
