// The operator's image as users run it: built from the Dockerfile by `npm run image` (Podman; the
// base image made locally when no registry answers), then run: `version` answers with the package's
// version, the process runs as uid 65532 on a read-only root, and nothing of the build's CA bundle
// or npmrc is left in it. Needs root and Podman (apt-get install podman debootstrap); fails saying so.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import { buildOperatorImage, podmanShell, repoRoot } from './podman.ts';

const version = (JSON.parse(readFileSync(`${repoRoot}package.json`, 'utf8')) as { version: string }).version;

describe('the operator image', () => {
  let image = '';
  before(async () => {
    image = await buildOperatorImage();
  });

  it('is tagged flotilla:<package version>', () => {
    assert.equal(image, `localhost/flotilla:${version}`);
  });

  it('answers `version` with the package version, on a read-only root', async () => {
    const out = await podmanShell(`podman run --rm --read-only ${image} version`);
    assert.match(out, new RegExp(`^flotilla ${version.replaceAll('.', '\\.')}\\nnode 24\\.`));
  });

  it('runs as uid and gid 65532, not root', async () => {
    const out = await podmanShell(`podman run --rm --entrypoint id ${image}`);
    assert.match(out, /^uid=65532\(?\S*\)? gid=65532/);
    const config = JSON.parse(await podmanShell(`podman image inspect --format '{{json .Config}}' ${image}`)) as {
      User: string;
    };
    assert.equal(config.User, '65532:65532');
  });

  it('holds nothing of the build’s CA bundle or npmrc', async () => {
    const out = await podmanShell(
      `podman run --rm --entrypoint sh ${image} -c 'for f in /etc/flotilla-build-ca.crt /usr/local/etc/npmrc; do [ -e "$f" ] && echo "$f"; done; true'`,
    );
    assert.equal(out.trim(), '');
  });
});
