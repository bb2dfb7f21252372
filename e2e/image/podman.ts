// Podman for the tests, with the project's private settings (scripts/podman-env.sh).
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);
export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** The operator's version (package.json): the tag of the image `npm run image` builds. */
export const operatorVersion = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** Runs a shell snippet with the project's private Podman settings (scripts/podman-env.sh). */
export async function podmanShell(script: string, timeoutMs = 60_000): Promise<string> {
  const { stdout } = await execFileAsync(
    'bash',
    ['-c', `set -euo pipefail; source scripts/podman-env.sh; ${script}; remove_empty_podman_cgroups`],
    { cwd: repoRoot, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 },
  );
  return stdout;
}

/** Builds the operator image (`npm run image`; cached layers make a rebuild quick) and returns its name. */
export async function buildOperatorImage(): Promise<string> {
  try {
    const { stdout } = await execFileAsync('bash', ['scripts/image.sh'], {
      cwd: repoRoot,
      timeout: 20 * 60_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    return stdout.trim().split('\n').at(-1) ?? '';
  } catch (error) {
    const { stderr = '', message } = error as { stderr?: string; message: string };
    throw new Error(`\`npm run image\` failed: ${message}\n${stderr.split('\n').slice(-30).join('\n')}`);
  }
}
