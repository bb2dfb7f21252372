// The single executable is built the way `npm run plugin -- build` builds it and runs with no Node.js
// on PATH: version, lint of the samples (exit 0) and of a bad manifest (exit 1, with its line).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { buildExecutable } from './plugin.ts';

const SAMPLES = fileURLToPath(new URL('../samples/', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'flotilla-plugin-sea-'));
let executable = '';

/** Runs the executable with an empty PATH: it must not need node. */
function run(args: string[], input?: string) {
  const result = spawnSync(executable, args, { encoding: 'utf8', env: { PATH: '', HOME: dir }, input });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('kubectl-flotilla as a single executable', { timeout: 120_000 }, () => {
  before(async () => {
    const started = Date.now();
    executable = await buildExecutable(join(dir, 'kubectl-flotilla'));
    console.log(`built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('is one executable file', () => {
    assert.ok(statSync(executable).mode & 0o111);
  });

  it('prints its version', () => {
    const { code, stdout } = run(['version']);
    assert.equal(code, 0);
    assert.match(stdout, /^kubectl-flotilla \d+\.\d+\.\d+ \(node 24\.[\d.]+\) \(single executable\)\n$/);
  });

  it('finds the samples clean', () => {
    const { code, stderr } = run(['lint', SAMPLES]);
    assert.equal(code, 0, stderr);
    assert.match(stderr, /^ok: 11 Flotilla objects checked/);
  });

  it('fails on a bad manifest, naming file, line and field', () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(
      bad,
      'apiVersion: flotilla.dev/v1alpha1\nkind: Rollout\nmetadata: {name: orders}\nspec:\n  serviceRef: {name: orders}\n  strategy:\n    canary:\n      steps:\n        - setWeight: 150\n',
    );
    const { code, stdout } = run(['lint', bad]);
    assert.equal(code, 1);
    assert.match(stdout, /bad\.yaml:9: Rollout orders: spec\.strategy\.canary\.steps\[0\]\.setWeight: must be <= 100/);
  });

  it('reads manifests from standard input', () => {
    const { code, stdout } = run(
      ['lint', '-'],
      'apiVersion: flotilla.dev/v1alpha1\nkind: MicroService\nmetadata: {name: a}\nspec: {}\n',
    );
    assert.equal(code, 1);
    assert.match(stdout, /^<stdin>:4: MicroService a: spec\.image: is required$/m);
  });
});
