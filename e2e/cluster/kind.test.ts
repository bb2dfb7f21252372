import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { load } from 'js-yaml';
import { KIND_CONFIG, kindConfigForBuiltImage, kindCreateArgs, kindPodmanDir, planKindProvider } from './kind.ts';
import { clusterToolDir, parseEnvFile } from './paths.ts';

test('planKindProvider uses Docker (and the published node image) only where an engine answers and kind is installed', () => {
  assert.equal(planKindProvider(true, true), 'docker');
  assert.equal(planKindProvider(true, false), 'podman');
  assert.equal(planKindProvider(false, true), 'podman');
  assert.equal(planKindProvider(false, false), 'podman');
});

test('kindCreateArgs passes the project config, and --image only for a node image built here', () => {
  const withImage = kindCreateArgs('kind', '/k/kubeconfig.yaml', 'localhost/flotilla-kind-node:v1');
  assert.deepEqual(withImage.slice(0, 4), ['create', 'cluster', '--name', 'kind']);
  assert.equal(withImage[withImage.indexOf('--config') + 1], join(clusterToolDir, '..', 'kind-config.yaml'));
  assert.equal(
    kindCreateArgs('kind', '/k', undefined, '/c.yaml')[kindCreateArgs('kind', '/k').indexOf('--config') + 1],
    '/c.yaml',
  );
  assert.equal(withImage[withImage.indexOf('--kubeconfig') + 1], '/k/kubeconfig.yaml');
  assert.equal(withImage[withImage.indexOf('--image') + 1], 'localhost/flotilla-kind-node:v1');
  assert.equal(kindCreateArgs('kind', '/k/kubeconfig.yaml').includes('--image'), false);
});

test("the kind cluster's Podman storage is its own, under the user cache folder", () => {
  assert.equal(kindPodmanDir({ XDG_CACHE_HOME: '/cache' }), '/cache/flotilla/podman-kind');
});

test('parseEnvFile reads KEY=value lines and names the file of a line it cannot read', () => {
  assert.deepEqual(
    [...parseEnvFile('# c\nA=1\n\nB=x=y\n').entries()],
    [
      ['A', '1'],
      ['B', 'x=y'],
    ],
  );
  assert.throws(() => parseEnvFile('oops\n', 'kind-image/versions.env'), /kind-image\/versions.env: cannot read line/);
});

test('the kind node image pins a version of everything it builds', () => {
  const versions = parseEnvFile(readFileSync(join(clusterToolDir, 'kind-image', 'versions.env'), 'utf8'));
  for (const key of ['KIND_VERSION', 'CRICTL_VERSION', 'COREDNS_VERSION', 'LOCAL_PATH_PROVISIONER_VERSION']) {
    assert.match(versions.get(key) ?? '', /^v\d+\.\d+\.\d+$/, key);
  }
});

test("a node image built here gets the project's kind config plus the etcd image tag it holds", () => {
  const project = readFileSync(KIND_CONFIG, 'utf8');
  const config = load(kindConfigForBuiltImage(project, 'v3.6.5')) as {
    nodes: object[];
    kubeadmConfigPatches: string[];
  };
  const original = load(project) as { nodes: object[]; kubeadmConfigPatches: string[] };
  assert.deepEqual(config.nodes, original.nodes);
  assert.deepEqual(config.kubeadmConfigPatches.slice(0, -1), original.kubeadmConfigPatches);
  assert.deepEqual(load(config.kubeadmConfigPatches.at(-1) as string), {
    kind: 'ClusterConfiguration',
    etcd: { local: { imageTag: '3.6.5-0' } },
  });
});
