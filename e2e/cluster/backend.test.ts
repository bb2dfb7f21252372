import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chooseBackend, planStopStart } from './backend.ts';
import { leasesAcquiredSince } from './local.ts';
import { binariesDir, flotillaCacheRoot, parseVersionsEnv } from './paths.ts';

test('chooseBackend picks kind only when Docker answers and kind is installed', () => {
  const cases: [string | undefined, boolean, boolean, string][] = [
    [undefined, true, true, 'kind'],
    [undefined, true, false, 'local'],
    [undefined, false, true, 'local'],
    [undefined, false, false, 'local'],
    ['local', true, true, 'local'],
    ['kind', false, false, 'kind'],
  ];
  for (const [override, docker, kind, expected] of cases) {
    assert.equal(chooseBackend(override, docker, kind), expected, `override=${override} docker=${docker} kind=${kind}`);
  }
});

test('chooseBackend rejects an unknown override with the allowed values', () => {
  assert.throws(() => chooseBackend('minikube', true, true), /must be "kind" or "local", not "minikube"/);
});

test('parseVersionsEnv reads KEY=value lines and names a missing key', () => {
  const text =
    '# comment\nKUBERNETES_VERSION=v1.35.4\n\nETCD_VERSION=v3.6.5\nKWOK_VERSION=v0.8.0\nHELM_VERSION=v3.21.4\n';
  assert.deepEqual(parseVersionsEnv(text), {
    KUBERNETES_VERSION: 'v1.35.4',
    ETCD_VERSION: 'v3.6.5',
    KWOK_VERSION: 'v0.8.0',
    HELM_VERSION: 'v3.21.4',
  });
  assert.throws(() => parseVersionsEnv('KUBERNETES_VERSION=v1.35.4\n'), /ETCD_VERSION is missing/);
  assert.throws(() => parseVersionsEnv('not a setting\n'), /cannot read line/);
});

test('the binaries folder is keyed by every version, under the user cache folder', () => {
  const env = { XDG_CACHE_HOME: '/cache' };
  assert.equal(flotillaCacheRoot(env), '/cache/flotilla');
  const dir = binariesDir(
    { KUBERNETES_VERSION: 'v1.35.4', ETCD_VERSION: 'v3.6.5', KWOK_VERSION: 'v0.8.0', HELM_VERSION: 'v3.21.4' },
    env,
  );
  assert.equal(dir, '/cache/flotilla/cluster-k8s-v1.35.4-etcd-v3.6.5-kwok-v0.8.0-helm-v3.21.4/bin');
});

test('planStopStart acts only when the cluster is not already in the asked state, and never creates one', () => {
  const cases: ['stop' | 'start', boolean, string][] = [
    ['stop', true, 'act'],
    ['stop', false, 'nothing-to-do'],
    ['start', false, 'act'],
    ['start', true, 'nothing-to-do'],
  ];
  for (const [command, answering, expected] of cases) {
    assert.equal(planStopStart(command, true, answering), expected, `${command} answering=${answering}`);
  }
  assert.throws(() => planStopStart('start', false, false), /no cluster to start: `npm run cluster -- up` creates one/);
  assert.throws(() => planStopStart('stop', false, false), /no cluster to stop/);
});

test('leasesAcquiredSince: every expected Lease won again at or after the restart', () => {
  const since = Date.parse('2026-11-24T17:26:30Z');
  const after = '2026-11-24T17:26:52.119748Z';
  const before = '2026-11-24T17:20:01.000000Z';
  assert.equal(leasesAcquiredSince([after, after], 2, since), true);
  assert.equal(leasesAcquiredSince([after, before], 2, since), false);
  assert.equal(leasesAcquiredSince([after], 2, since), false, 'a Lease not there yet');
  assert.equal(leasesAcquiredSince([before, before], 2, 0), true, 'nothing restarted: held leases do');
});
