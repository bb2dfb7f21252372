import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MicroServiceSpec } from '../api/microservice.ts';
import {
  type ConfigDigest,
  type ConfigRef,
  computeConfigHash,
  configReferencesOf,
  digestConfigData,
} from './config-hash.ts';

const spec = (fields: Partial<MicroServiceSpec>): MicroServiceSpec => ({ image: 'x:1', ...fields });

describe('configReferencesOf', () => {
  it('finds env valueFrom, envFrom and files, of every container, merged by object', () => {
    const refs = configReferencesOf(
      spec({
        env: [
          { name: 'A', valueFrom: { configMapKeyRef: { name: 'app', key: 'a' } } },
          { name: 'B', valueFrom: { secretKeyRef: { name: 'keys', key: 'b', optional: true } } },
          { name: 'C', value: 'plain' },
        ],
        envFrom: [{ configMapRef: { name: 'flags' }, rollOnChange: false }],
        files: [
          { path: '/etc/app', configMap: 'app', items: [{ key: 'app.yaml', path: 'app.yaml' }] },
          { path: '/tls', secret: 'tls' },
        ],
        sidecars: [
          {
            name: 'agent',
            image: 'a:1',
            env: [{ name: 'K', valueFrom: { secretKeyRef: { name: 'keys', key: 'k' } } }],
          },
        ],
      }),
    );
    assert.deepEqual(refs, [
      { kind: 'ConfigMap', name: 'app', keys: ['a', 'app.yaml'], optional: false, roll: true },
      { kind: 'ConfigMap', name: 'flags', optional: false, roll: false },
      // optional only when every reference is: the sidecar's is not.
      { kind: 'Secret', name: 'keys', keys: ['b', 'k'], optional: false, roll: true },
      { kind: 'Secret', name: 'tls', optional: false, roll: true },
    ]);
  });

  it('reads every key once any reference does', () => {
    const refs = configReferencesOf(
      spec({
        env: [{ name: 'A', valueFrom: { configMapKeyRef: { name: 'app', key: 'a' } } }],
        envFrom: [{ configMapRef: { name: 'app' } }],
      }),
    );
    assert.deepEqual(refs, [{ kind: 'ConfigMap', name: 'app', optional: false, roll: true }]);
  });

  it('finds nothing in a spec that references nothing', () => {
    assert.deepEqual(configReferencesOf(spec({ env: [{ name: 'A', value: '1' }] })), []);
  });
});

describe('digestConfigData', () => {
  it('keeps a SHA-256 per key, never the value', () => {
    const digests = digestConfigData({ data: { password: 'hunter2' }, binaryData: { blob: 'AAEC' } });
    assert.deepEqual(Object.keys(digests), ['password', 'blob']);
    assert.match(digests.password ?? '', /^[0-9a-f]{64}$/);
    assert.ok(!JSON.stringify(digests).includes('hunter2'));
  });
});

describe('computeConfigHash', () => {
  const app: ConfigRef = { kind: 'ConfigMap', name: 'app', keys: ['a'], optional: false, roll: true };
  const flags: ConfigRef = { kind: 'ConfigMap', name: 'flags', optional: false, roll: false };
  const found = (keys: Record<string, string>): ConfigDigest => ({ exists: true, keys });
  const hashOf = (refs: ConfigRef[], objects: Record<string, ConfigDigest | undefined>) =>
    computeConfigHash(refs, (ref) => objects[ref.name]);

  it('changes when a key read changes, not when another key does', () => {
    const before = hashOf([app], { app: found({ a: '1', other: '1' }) });
    assert.notEqual(hashOf([app], { app: found({ a: '2', other: '1' }) }).hash, before.hash);
    assert.equal(hashOf([app], { app: found({ a: '1', other: '2' }) }).hash, before.hash);
  });

  it('ignores the data of a reference with rollOnChange false, and has no hash when nothing rolls', () => {
    assert.deepEqual(hashOf([flags], { flags: found({ x: '1' }) }), { missing: [], unknown: [] });
    const withFlags = hashOf([app, flags], { app: found({ a: '1' }), flags: found({ x: '1' }) });
    assert.equal(withFlags.hash, hashOf([app, flags], { app: found({ a: '1' }), flags: found({ x: '2' }) }).hash);
  });

  it('names what is missing (but not what is optional) and what is not known yet', () => {
    const optional: ConfigRef = { ...app, name: 'extra', optional: true };
    const result = hashOf([app, flags, optional], { app: { exists: false }, extra: { exists: false } });
    assert.deepEqual(result.missing, ['ConfigMap/app']);
    assert.deepEqual(result.unknown, ['ConfigMap/flags']);
  });

  it('changes when a missing object appears', () => {
    assert.notEqual(hashOf([app], { app: { exists: false } }).hash, hashOf([app], { app: found({ a: '1' }) }).hash);
  });
});
