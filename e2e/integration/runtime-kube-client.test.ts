// The kube/ client against the real API server: server-side apply, merge patch, status writes,
// events, finalizers, error classification, and one keep-alive connection.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { canonicalize } from '../../operator/src/kube/canonical.ts';
import { createKubeClient, type KubeClient, WritesFencedError } from '../../operator/src/kube/client.ts';
import { classifyError } from '../../operator/src/kube/errors.ts';
import { EventRecorder } from '../../operator/src/kube/events.ts';
import { addFinalizer, removeFinalizer } from '../../operator/src/kube/finalizers.ts';
import { configMapType, eventType, type KubeObject } from '../../operator/src/kube/objects.ts';
import { syncStatus } from '../../operator/src/kube/status.ts';
import { connectToCluster } from '../support/cluster.ts';
import { deleteCrd, ensureNamespace, installCrd, throwawayCrd, uniqueName } from './runtime-helpers.ts';

const cluster = await connectToCluster();
const namespace = 'runtime-kube-client';
const widgets = throwawayCrd('StatusWidget', 'statuswidgets');

describe('kube client', () => {
  let client: KubeClient;
  before(async () => {
    await ensureNamespace(cluster, namespace);
    await installCrd(cluster, widgets.manifest);
    client = await createKubeClient(cluster.kubeConfig);
  });
  after(async () => {
    await client.close();
    await deleteCrd(cluster, widgets.manifest.metadata.name);
  });

  const configMap = (name: string, data: Record<string, string>): KubeObject => ({
    metadata: { name, namespace },
    data,
  });

  it('server-side applies with field manager flotilla, owning only the fields it sends', async () => {
    const name = uniqueName('apply');
    await client.apply(configMapType, configMap(name, { a: '1', b: '2' }));
    const raw = JSON.parse(
      await cluster.kubectl(['get', 'configmap', name, '-n', namespace, '-o', 'json', '--show-managed-fields']),
    );
    const managers = raw.metadata.managedFields.map(
      (f: { manager: string; operation: string }) => `${f.manager}/${f.operation}`,
    );
    assert.deepEqual(managers, ['flotilla/Apply']);
    // Another manager adds a field; our next apply, without `b`, removes only what we owned.
    await cluster.kubectl([
      'patch',
      'configmap',
      name,
      '-n',
      namespace,
      '--type',
      'merge',
      '-p',
      '{"data":{"user":"x"}}',
    ]);
    const applied = await client.apply(configMapType, configMap(name, { a: '3' }));
    assert.deepEqual(applied.data, { a: '3', user: 'x' });
  });

  it('forces ownership of a field another manager set (force=true)', async () => {
    const name = uniqueName('force');
    await cluster.kubectl(['create', 'configmap', name, '-n', namespace, '--from-literal=a=theirs']);
    await cluster.kubectl(['apply', '--server-side', '--field-manager=someone', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name, namespace },
        data: { a: 'theirs' },
      }),
    });
    const applied = await client.apply(configMapType, configMap(name, { a: 'ours' }));
    assert.deepEqual(applied.data, { a: 'ours' });
  });

  it('merge-patches with an optimistic lock that conflicts when stale', async () => {
    const name = uniqueName('merge');
    const created = await client.create(configMapType, configMap(name, { a: '1' }));
    await client.mergePatch(configMapType, name, namespace, { data: { b: '2' } });
    const stale = client.mergePatch(configMapType, name, namespace, {
      metadata: { resourceVersion: created.metadata.resourceVersion },
      data: { c: '3' },
    });
    await assert.rejects(stale, (error) => classifyError(error) === 'conflict');
  });

  it('classifies the errors of the real API server', async () => {
    const missing = client.get(configMapType, uniqueName('missing'), namespace);
    await assert.rejects(missing, (error) => classifyError(error) === 'notFound');
    const name = uniqueName('dup');
    await client.create(configMapType, configMap(name, {}));
    await assert.rejects(client.create(configMapType, configMap(name, {})), (e) => classifyError(e) === 'conflict');
    const badName = client.apply(configMapType, configMap('Not_A_Valid_Name', {}));
    await assert.rejects(badName, (error) => classifyError(error) === 'invalid');
    const noKind = client.get({ ...widgets.type, plural: 'nosuchkinds' }, 'x', namespace);
    await assert.rejects(noKind, (error) => classifyError(error) === 'notFound');

    const nobody = new KubeConfig();
    nobody.loadFromFile(cluster.kubeconfigPath);
    const user = nobody.getCurrentUser();
    assert.ok(user);
    Object.assign(user, { impersonateUser: 'system:serviceaccount:default:nobody' });
    const impersonated = await createKubeClient(nobody);
    try {
      const forbidden = impersonated.get(configMapType, name, namespace);
      await assert.rejects(forbidden, (error) => classifyError(error) === 'forbidden');
    } finally {
      await impersonated.close();
    }
  });

  it('writes status through the status subresource only when it changed (rows 4 and 10)', async () => {
    const name = uniqueName('status');
    await client.apply(widgets.type, { metadata: { name, namespace }, spec: { size: 1 } });
    const observed = await client.get(widgets.type, name, namespace);
    const status = { phase: 'Ready', since: new Date('2026-01-02T03:04:05Z') };
    const written = await syncStatus(client, widgets.type, observed, status);
    assert.ok(written, 'first write happens');
    assert.deepEqual(written.status, canonicalize(status));
    assert.deepEqual(written.spec, { size: 1 }, 'the status write leaves spec alone');
    // The same status again — with a Date where the server has a string — writes nothing.
    const again = await syncStatus(client, widgets.type, written, {
      since: new Date('2026-01-02T03:04:05Z'),
      phase: 'Ready',
    });
    assert.equal(again, undefined);
    const now = await client.get(widgets.type, name, namespace);
    assert.equal(now.metadata.resourceVersion, written.metadata.resourceVersion);
    // A spec write through the main resource cannot change status.
    await client.mergePatch(widgets.type, name, namespace, { status: { phase: 'Hacked' } });
    assert.equal(
      (await client.get<KubeObject & { status: { phase: string } }>(widgets.type, name, namespace)).status.phase,
      'Ready',
    );
  });

  it('deduplicates events by object and reason, counting repeats', async () => {
    const name = uniqueName('evented');
    const object = await client.create(configMapType, configMap(name, {}));
    const errors: unknown[] = [];
    const recorder = new EventRecorder(client, { onError: (error) => errors.push(error) });
    await recorder.record(configMapType, object, { type: 'Warning', reason: 'SyncFailed', message: 'first' });
    await recorder.record(configMapType, object, { type: 'Warning', reason: 'SyncFailed', message: 'second' });
    await Promise.all([
      recorder.record(configMapType, object, { type: 'Warning', reason: 'SyncFailed', message: 'third' }),
      recorder.record(configMapType, object, { type: 'Normal', reason: 'Synced', message: 'ok' }),
    ]);
    assert.deepEqual(errors, []);
    const events = await client.list(eventType, { namespace, fieldSelector: `involvedObject.name=${name}` });
    const summary = events.items.map((e) => `${e.reason}:${e.count}:${e.message}`).sort();
    assert.deepEqual(summary, ['SyncFailed:3:third', 'Synced:1:ok']);
  });

  it('adds and removes finalizers', async () => {
    const name = uniqueName('final');
    let object = await client.create(configMapType, configMap(name, {}));
    object = await addFinalizer(client, configMapType, object, 'flotilla.dev/database');
    object = await addFinalizer(client, configMapType, object, 'flotilla.dev/database');
    assert.deepEqual(object.metadata.finalizers, ['flotilla.dev/database']);
    await client.delete(configMapType, name, namespace);
    object = await client.get(configMapType, name, namespace);
    assert.ok(object.metadata.deletionTimestamp, 'held by the finalizer');
    await removeFinalizer(client, configMapType, object, 'flotilla.dev/database');
    await assert.rejects(client.get(configMapType, name, namespace), (e) => classifyError(e) === 'notFound');
  });

  it('refuses writes when the write guard says no, without sending them', async () => {
    const fenced = client.withWriteGuard(() => false);
    const name = uniqueName('fenced');
    await assert.rejects(fenced.apply(configMapType, configMap(name, {})), WritesFencedError);
    await assert.rejects(client.get(configMapType, name, namespace), (e) => classifyError(e) === 'notFound');
  });

  it('sends every request over one keep-alive connection (row 5)', async () => {
    const fresh = await createKubeClient(cluster.kubeConfig);
    try {
      for (let i = 0; i < 30; i++) await fresh.list(configMapType, { namespace, limit: 1 });
      // Back-to-back requests may find the first socket not yet back in the pool: at most two,
      // where an agent per request (the library's way) opens thirty.
      assert.ok(fresh.transport.connectionsOpened() <= 2, `${fresh.transport.connectionsOpened()} connections`);
    } finally {
      await fresh.close();
    }
  });
});
