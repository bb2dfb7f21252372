// `flotilla version`, run as users run it: the operator version from package.json and Node's.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

const MAIN = new URL('./main.ts', import.meta.url).pathname;
const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};
const flotilla = (...args: string[]): string => execFileSync(process.execPath, [MAIN, ...args], { encoding: 'utf8' });

describe('flotilla version', () => {
  it('prints the version of package.json and the Node version', () => {
    assert.match(version, /^\d+\.\d+\.\d+/);
    assert.equal(flotilla('version'), `flotilla ${version}\nnode ${process.versions.node}\n`);
  });

  it('prints JSON with --output json', () => {
    assert.deepEqual(JSON.parse(flotilla('version', '--output', 'json')), {
      flotilla: version,
      node: process.versions.node,
    });
  });

  it('refuses an unknown output format', () => {
    const result = spawnSync(process.execPath, [MAIN, 'version', '-o', 'yaml'], { encoding: 'utf8' });
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /yaml/);
  });

  it('is listed in the help', () => {
    assert.match(flotilla('--help'), /version \[options\]\s+Print the operator version/);
  });
});
