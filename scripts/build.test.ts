// What the Dockerfile relies on, checked without a Docker engine: `npm run build` bundles the
// operator into one file; laid out as in the image (operator/ beside package.json and node_modules)
// it runs; and what it leaves to node_modules is only package.json's `dependencies` (the image has
// only those).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Bundle, bundleOperator, LAZY_PACKAGES } from './build.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  version: string;
  dependencies: Record<string, string>;
};

let dir = '';
let bundle: Bundle = { file: '', imports: [] };
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'flotilla-build-'));
  // The final stage of the Dockerfile: package.json, node_modules, and dist/operator as operator/.
  bundle = await bundleOperator(join(dir, 'app'));
  cpSync(join(ROOT, 'package.json'), join(dir, 'app', 'package.json'));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'app', 'node_modules'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

it('the bundled operator runs from the image layout', { timeout: 120_000 }, () => {
  assert.equal(bundle.file, join(dir, 'app', 'operator', 'src', 'main.js'));
  const out = execFileSync(process.execPath, ['operator/src/main.js', 'version'], {
    cwd: join(dir, 'app'),
    encoding: 'utf8',
  });
  assert.match(out, new RegExp(`flotilla ${pkg.version.replaceAll('.', '\\.')}`));
});

it('the bundle leaves to node_modules only production dependencies, each loaded only when used', () => {
  const packages = bundle.imports.filter(({ path }) => !path.startsWith('node:') && !builtinModules.includes(path));
  const name = (path: string) =>
    path
      .split('/')
      .slice(0, path.startsWith('@') ? 2 : 1)
      .join('/');
  assert.ok(packages.length > 0, 'the lazily loaded packages are imported by name');
  for (const { path, kind } of packages) {
    assert.ok(Object.keys(pkg.dependencies).includes(name(path)), `${path}: not in dependencies, not in the image`);
    assert.ok(LAZY_PACKAGES.includes(name(path)), `${path}: left out of the bundle but not in LAZY_PACKAGES`);
    assert.equal(kind, 'dynamic-import', `${path} is imported statically: it would load at start`);
  }
});
