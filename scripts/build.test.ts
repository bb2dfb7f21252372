// What the Dockerfile relies on, checked without a Docker engine: `npm run build`'s tsconfig compiles
// the operator; laid out as in the image (operator/ beside package.json and node_modules) it runs;
// and it imports no package outside package.json's `dependencies` (the image has only those).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  version: string;
  dependencies: Record<string, string>;
};

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'flotilla-build-'));
  execFileSync(process.execPath, [TSC, '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', join(dir, 'dist')]);
  // The final stage of the Dockerfile: package.json, node_modules, and dist/operator as operator/.
  cpSync(join(ROOT, 'package.json'), join(dir, 'app', 'package.json'));
  cpSync(join(dir, 'dist', 'operator'), join(dir, 'app', 'operator'), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'app', 'node_modules'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

it('the compiled operator runs from the image layout', { timeout: 120_000 }, () => {
  const out = execFileSync(process.execPath, ['operator/src/main.js', 'version'], {
    cwd: join(dir, 'app'),
    encoding: 'utf8',
  });
  assert.match(out, new RegExp(`flotilla ${pkg.version.replaceAll('.', '\\.')}`));
});

it('the compiled operator imports only production dependencies and Node built-ins', () => {
  const files = readdirSync(join(dir, 'app', 'operator'), { recursive: true, encoding: 'utf8' }).filter((f) =>
    f.endsWith('.js'),
  );
  assert.ok(files.length > 10, 'compiled files found');
  const allowed = new Set([...Object.keys(pkg.dependencies), ...builtinModules]);
  const outside = new Set<string>();
  for (const file of files) {
    const text = readFileSync(join(dir, 'app', 'operator', file), 'utf8');
    for (const [, specifier = ''] of text.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)) {
      if (specifier.startsWith('.') || specifier.startsWith('node:')) continue;
      const parts = specifier.split('/');
      const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? '');
      if (!allowed.has(name)) outside.add(`${name} (${file})`);
    }
  }
  assert.deepEqual([...outside], [], 'move these to dependencies, or the image cannot run them');
});
