import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { describe, it } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { dump } from 'js-yaml';
import { type HttpsOptions, Kubeconfig } from './kubeconfig.ts';

const b64 = (text: string) => Buffer.from(text).toString('base64');

function kubeconfigText(user: object, cluster: object = {}, context = 'dev'): string {
  return dump({
    apiVersion: 'v1',
    kind: 'Config',
    'current-context': context,
    clusters: [
      { name: 'other', cluster: { server: 'https://wrong.example:6443' } },
      { name: 'dev-cluster', cluster: { server: 'https://127.0.0.1:6443', ...cluster } },
    ],
    users: [
      { name: 'other', user: { token: 'wrong' } },
      { name: 'dev-user', user },
    ],
    contexts: [
      { name: 'other', context: { cluster: 'other', user: 'other' } },
      { name: 'dev', context: { cluster: 'dev-cluster', user: 'dev-user' } },
    ],
  });
}

async function optionsOf(config: Kubeconfig): Promise<HttpsOptions> {
  const options: HttpsOptions = {};
  await config.applyToHTTPSOptions(options);
  return options;
}

describe('Kubeconfig', () => {
  it('takes the current context’s cluster and client certificate, inline data decoded', async () => {
    const config = Kubeconfig.fromString(
      kubeconfigText(
        { 'client-certificate-data': b64('CERT'), 'client-key-data': b64('KEY') },
        { 'certificate-authority-data': b64('CA'), 'tls-server-name': 'api.internal' },
      ),
      '/nowhere',
    );
    assert.deepEqual(config.getCurrentCluster(), {
      name: 'dev-cluster',
      server: 'https://127.0.0.1:6443',
      skipTLSVerify: false,
      tlsServerName: 'api.internal',
    });
    const options = await optionsOf(config);
    assert.equal(options.ca?.toString(), 'CA');
    assert.equal(options.cert?.toString(), 'CERT');
    assert.equal(options.key?.toString(), 'KEY');
    assert.equal(options.servername, 'api.internal');
    assert.equal(options.headers?.Authorization, undefined);
  });

  it('reads certificate files relative to the kubeconfig’s folder', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kubeconfig-'));
    mkdirSync(join(dir, 'pki'));
    writeFileSync(join(dir, 'pki', 'ca.crt'), 'CA FILE');
    writeFileSync(join(dir, 'pki', 'admin.crt'), 'CERT FILE');
    writeFileSync(join(dir, 'pki', 'admin.key'), 'KEY FILE');
    const path = join(dir, 'kubeconfig.yaml');
    writeFileSync(
      path,
      kubeconfigText(
        { 'client-certificate': 'pki/admin.crt', 'client-key': join(dir, 'pki', 'admin.key') },
        { 'certificate-authority': 'pki/ca.crt' },
      ),
    );
    const options = await optionsOf(Kubeconfig.fromFile(path));
    assert.equal(options.ca?.toString(), 'CA FILE');
    assert.equal(options.cert?.toString(), 'CERT FILE');
    assert.equal(options.key?.toString(), 'KEY FILE');
  });

  it('sends a token, impersonation, or basic auth; skips TLS verification only when told', async () => {
    const token = await optionsOf(
      Kubeconfig.fromString(kubeconfigText({ token: 't0ken', as: 'jane' }, { 'insecure-skip-tls-verify': true }), '/'),
    );
    assert.equal(token.headers?.Authorization, 'Bearer t0ken');
    assert.equal(token.headers?.['Impersonate-User'], 'jane');
    assert.equal(token.rejectUnauthorized, false);
    const basic = await optionsOf(Kubeconfig.fromString(kubeconfigText({ username: 'admin', password: 'pw' }), '/'));
    assert.equal(basic.auth, 'admin:pw');
    assert.equal(basic.headers?.Authorization, undefined);
    assert.equal(basic.rejectUnauthorized, undefined);
  });

  it('reads a token file anew each time (service account tokens rotate)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kubeconfig-'));
    writeFileSync(join(dir, 'token'), 'first\n');
    const config = Kubeconfig.fromString(kubeconfigText({ tokenFile: 'token' }), dir);
    assert.equal((await optionsOf(config)).headers?.Authorization, 'Bearer first');
    writeFileSync(join(dir, 'token'), 'second\n');
    assert.equal((await optionsOf(config)).headers?.Authorization, 'Bearer second');
  });

  it('in a cluster: the service host from the environment, the mounted CA and token', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'serviceaccount-'));
    writeFileSync(join(dir, 'token'), 'sa-token');
    writeFileSync(join(dir, 'ca.crt'), 'SA CA');
    const env = { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' };
    const config = Kubeconfig.inCluster(env, dir);
    assert.equal(config.getCurrentCluster().server, 'https://[fd00::1]:443');
    const options = await optionsOf(config);
    assert.equal(options.headers?.Authorization, 'Bearer sa-token');
    assert.equal(options.ca?.toString(), 'SA CA');
    assert.throws(() => Kubeconfig.inCluster({}, dir), /KUBERNETES_SERVICE_HOST/);
  });

  it('hands an exec plugin to the client library, which runs it for a token', async () => {
    const credential = JSON.stringify({
      apiVersion: 'client.authentication.k8s.io/v1',
      kind: 'ExecCredential',
      status: { token: 'from-exec' },
    });
    const exec = {
      apiVersion: 'client.authentication.k8s.io/v1',
      command: process.execPath,
      args: ['-e', `process.stdout.write(${JSON.stringify(credential)})`],
      interactiveMode: 'Never',
    };
    const options = await optionsOf(Kubeconfig.fromString(kubeconfigText({ exec }), '/'));
    assert.equal(options.headers?.Authorization, 'Bearer from-exec');
  });

  it('says what is missing from a kubeconfig it cannot use', () => {
    assert.throws(
      () => Kubeconfig.fromString('apiVersion: v1\nkind: Config\n', '/', 'k.yaml'),
      /k.yaml sets no current-context/,
    );
    assert.throws(
      () => Kubeconfig.fromString(kubeconfigText({}, {}, 'missing'), '/'),
      /current-context missing is not among its contexts/,
    );
    const noServer = kubeconfigText({}).replace('server: https://127.0.0.1:6443', 'insecure-skip-tls-verify: true');
    assert.throws(() => Kubeconfig.fromString(noServer, '/'), /names cluster dev-cluster, which has no server/);
  });
});

describe('Kubeconfig.fromFiles: $KUBECONFIG with several files, against @kubernetes/client-node', () => {
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-kubeconfigs-'));
  const write = (folder: string, name: string, content: string | object) => {
    mkdirSync(join(dir, folder), { recursive: true });
    const file = join(dir, folder, name);
    writeFileSync(file, typeof content === 'string' ? content : dump(content));
    return file;
  };
  write('b', 'ca.crt', 'the CA of b');
  write('b', 'client.crt', 'the client certificate of b');
  write('b', 'client.key', 'the client key of b');
  write('a', 'client.crt', 'the client certificate of a');
  write('a', 'client.key', 'the client key of a');
  const config = (current: string | undefined, clusters: object[], users: object[], contexts: object[]) => ({
    apiVersion: 'v1',
    kind: 'Config',
    ...(current ? { 'current-context': current } : {}),
    clusters,
    users,
    contexts,
  });
  const cases: { name: string; files: string[] }[] = [
    {
      name: 'one file, a token user',
      files: [
        write(
          'one',
          'config',
          config(
            'dev',
            [{ name: 'c', cluster: { server: 'https://10.0.0.1:6443' } }],
            [{ name: 'u', user: { token: 't0k3n' } }],
            [{ name: 'dev', context: { cluster: 'c', user: 'u' } }],
          ),
        ),
      ],
    },
    {
      name: 'the current context in the first file, its cluster and user (relative paths) in the second',
      files: [
        write(
          'a',
          'config',
          config('prod', [], [], [{ name: 'prod', context: { cluster: 'prod-cluster', user: 'prod-user' } }]),
        ),
        write(
          'b',
          'config',
          config(
            undefined,
            [{ name: 'prod-cluster', cluster: { server: 'https://10.0.0.2:6443', 'certificate-authority': 'ca.crt' } }],
            [{ name: 'prod-user', user: { 'client-certificate': 'client.crt', 'client-key': 'client.key' } }],
            [],
          ),
        ),
      ],
    },
    {
      name: 'a client certificate relative to the first file, the cluster of the second, another context there too',
      files: [
        write(
          'a',
          'tokens',
          config(
            'dev',
            [],
            [{ name: 'dev-user', user: { 'client-certificate': 'client.crt', 'client-key': 'client.key' } }],
            [{ name: 'dev', context: { cluster: 'dev-cluster', user: 'dev-user' } }],
          ),
        ),
        write(
          'b',
          'clusters',
          config(
            'other',
            [{ name: 'dev-cluster', cluster: { server: 'https://10.0.0.3:6443', 'insecure-skip-tls-verify': true } }],
            [{ name: 'other-user', user: { username: 'u', password: 'p' } }],
            [{ name: 'other', context: { cluster: 'dev-cluster', user: 'other-user' } }],
          ),
        ),
      ],
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const ours = Kubeconfig.fromFiles(c.files);
      const library = new KubeConfig();
      const saved = process.env.KUBECONFIG;
      process.env.KUBECONFIG = c.files.join(delimiter);
      try {
        library.loadFromDefault(undefined, true);
      } finally {
        if (saved === undefined) delete process.env.KUBECONFIG;
        else process.env.KUBECONFIG = saved;
      }
      assert.equal(ours.getCurrentCluster().server, library.getCurrentCluster()?.server);
      const theirs: HttpsOptions = {};
      await library.applyToHTTPSOptions(theirs as Parameters<KubeConfig['applyToHTTPSOptions']>[0]);
      const mine = await optionsOf(ours);
      for (const field of ['ca', 'cert', 'key', 'auth', 'rejectUnauthorized'] as const) {
        assert.deepEqual(mine[field]?.toString(), theirs[field]?.toString(), field);
      }
      assert.equal(mine.headers?.Authorization, (theirs.headers as Record<string, string> | undefined)?.Authorization);
    });
  }

  it('a name in two files: the first wins, as kubectl has it (client-node refuses the pair)', async () => {
    const first = write(
      'dup',
      'first',
      config(
        'dev',
        [{ name: 'c', cluster: { server: 'https://10.0.0.4:6443' } }],
        [{ name: 'u', user: { token: 'first' } }],
        [{ name: 'dev', context: { cluster: 'c', user: 'u' } }],
      ),
    );
    const second = write(
      'dup',
      'second',
      config(
        'later',
        [{ name: 'c', cluster: { server: 'https://10.9.9.9:6443' } }],
        [{ name: 'u', user: { token: 'second' } }],
        [{ name: 'later', context: { cluster: 'c', user: 'u' } }],
      ),
    );
    const ours = Kubeconfig.fromFiles([first, second]);
    assert.equal(ours.getCurrentCluster().server, 'https://10.0.0.4:6443');
    assert.equal((await optionsOf(ours)).headers?.Authorization, 'Bearer first');
    assert.equal(Kubeconfig.fromFiles([first, second], 'later').getCurrentCluster().server, 'https://10.0.0.4:6443');
  });
});
