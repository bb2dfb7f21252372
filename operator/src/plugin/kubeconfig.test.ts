// The plugin's kubeconfig rules are kubectl's: --kubeconfig alone, else KUBECONFIG's files merged
// (first wins), else ~/.kube/config; --context; -n, else the context's namespace, else default.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { dump } from 'js-yaml';
import { kubeconfigFiles, resolveAccess } from './kubeconfig.ts';

const dir = mkdtempSync(join(tmpdir(), 'flotilla-plugin-kubeconfig-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, document: object): string {
  const path = join(dir, name);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, dump(document));
  return path;
}

const cluster = (name: string, server: string, extra: object = {}) => ({ name, cluster: { server, ...extra } });
const context = (name: string, clusterName: string, namespace?: string) => ({
  name,
  context: { cluster: clusterName, user: 'u', ...(namespace ? { namespace } : {}) },
});

// a.yaml: current-context dev; b.yaml: current-context prod and a second "dev" context that loses.
const a = write('a/config', {
  'current-context': 'dev',
  clusters: [cluster('dev', 'https://dev.example:6443', { 'certificate-authority': 'ca.crt' })],
  contexts: [context('dev', 'dev', 'shop')],
  users: [{ name: 'u', user: { token: 't' } }],
});
const b = write('b/config', {
  'current-context': 'prod',
  clusters: [cluster('prod', 'https://prod.example:6443'), cluster('dev', 'https://other.example:6443')],
  contexts: [context('prod', 'prod'), context('dev', 'prod', 'elsewhere')],
  users: [],
});
writeFileSync(join(dir, 'a', 'ca.crt'), 'not a real CA');

describe('plugin kubeconfig', () => {
  it('merges KUBECONFIG files: the first current-context and the first entry of a name win', () => {
    const access = resolveAccess({}, { KUBECONFIG: `${a}:${b}` });
    assert.equal(access.context, 'dev');
    assert.equal(access.namespace, 'shop');
    assert.equal(access.kubeConfig.getCurrentCluster().server, 'https://dev.example:6443');
  });

  it('takes --context from any of the files, and its namespace unless -n is given', () => {
    const prod = resolveAccess({ context: 'prod' }, { KUBECONFIG: `${a}:${b}` });
    assert.equal(prod.kubeConfig.getCurrentCluster().server, 'https://prod.example:6443');
    assert.equal(prod.namespace, 'default');
    assert.equal(resolveAccess({ context: 'prod', namespace: 'x' }, { KUBECONFIG: `${a}:${b}` }).namespace, 'x');
  });

  it('reads relative certificate paths against the file that holds them', async () => {
    const access = resolveAccess({}, { KUBECONFIG: `${b}:${a}`, HOME: dir });
    assert.equal(access.context, 'prod');
    const dev = resolveAccess({ context: 'dev' }, { KUBECONFIG: `${a}:${b}` });
    const options: { ca?: Buffer } = {};
    await dev.kubeConfig.applyToHTTPSOptions(options);
    assert.equal(options.ca?.toString(), 'not a real CA');
  });

  it('uses --kubeconfig alone, and ~/.kube/config without KUBECONFIG', () => {
    assert.deepEqual(kubeconfigFiles({ kubeconfig: b }, { KUBECONFIG: a }), [b]);
    write('home/.kube/config', { 'current-context': 'x' });
    assert.deepEqual(kubeconfigFiles({}, { HOME: join(dir, 'home') }), [join(dir, 'home', '.kube', 'config')]);
  });

  it('names a context that does not exist', () => {
    assert.throws(() => resolveAccess({ context: 'nope' }, { KUBECONFIG: a }), /context nope is not in/);
  });
});
