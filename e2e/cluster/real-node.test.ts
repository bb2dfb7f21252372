import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { load } from 'js-yaml';
import { clusterToolDir } from './paths.ts';
import { NODE_ADDRESS, realNodeApiServerSettings } from './real-node.ts';

describe('the API server settings for a real node', () => {
  // local.ts appends them to kwokctl-config.yaml's document: together they must be one valid document.
  const document = load(
    `${readFileSync(join(clusterToolDir, 'kwokctl-config.yaml'), 'utf8').trim()}\n${realNodeApiServerSettings('/state/clusters/x')}`,
  ) as {
    options: { bindAddress: string; kubeApiserverCertSANs: string[] };
    componentsPatches: { name: string; extraArgs: { key: string; value: string }[] }[];
  };

  it('keep every component on loopback and put the Service IP and the node address in the certificate', () => {
    assert.equal(document.options.bindAddress, '127.0.0.1');
    assert.deepEqual(document.options.kubeApiserverCertSANs, ['10.0.0.1', NODE_ADDRESS]);
  });

  it('advertise the node address and give the API server a client certificate for the kubelet', () => {
    const [patch] = document.componentsPatches;
    assert.equal(patch?.name, 'kube-apiserver');
    const args = Object.fromEntries((patch?.extraArgs ?? []).map(({ key, value }) => [key, value]));
    assert.deepEqual(args, {
      'advertise-address': NODE_ADDRESS,
      'kubelet-client-certificate': '/state/clusters/x/pki/admin.crt',
      'kubelet-client-key': '/state/clusters/x/pki/admin.key',
      'kubelet-preferred-address-types': 'InternalIP',
      'enable-admission-plugins': 'PodNodeSelector,PodTolerationRestriction',
    });
  });
});
