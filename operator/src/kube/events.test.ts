import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runAsReconcile } from '../common/reconcile-context.ts';
import type { KubeClient } from './client.ts';
import { EventRecorder, RECONCILE_ID_ANNOTATION } from './events.ts';
import { configMapType, type KubeObject } from './objects.ts';

/** A client that records the Events it is asked to create or patch. */
function recordingClient() {
  const sent: { verb: string; body: Record<string, unknown> }[] = [];
  const client = {
    create: async (_type: unknown, body: Record<string, unknown>) => {
      sent.push({ verb: 'create', body });
      return body;
    },
    mergePatch: async (_type: unknown, _name: string, _namespace: string, body: Record<string, unknown>) => {
      sent.push({ verb: 'patch', body });
      return body;
    },
  } as unknown as KubeClient;
  return { client, sent };
}

const object: KubeObject = { metadata: { name: 'orders', namespace: 'shop', uid: 'u1' } };

describe('EventRecorder and the reconcile id', () => {
  it('names the reconcile that recorded an Event, in its message and an annotation, on create and on a repeat', async () => {
    const { client, sent } = recordingClient();
    const recorder = new EventRecorder(client);
    await runAsReconcile('r-1', () =>
      recorder.record(configMapType, object, { type: 'Warning', reason: 'ConfigNotFound', message: 'missing' }),
    );
    await runAsReconcile('r-2', async () => {
      await Promise.resolve();
      await recorder.record(configMapType, object, { type: 'Warning', reason: 'ConfigNotFound', message: 'missing' });
    });
    const [created, patched] = sent;
    assert.equal(created?.body.message, 'missing (reconcile r-1)');
    assert.deepEqual((created?.body.metadata as { annotations?: object } | undefined)?.annotations, {
      [RECONCILE_ID_ANNOTATION]: 'r-1',
    });
    assert.equal(patched?.verb, 'patch');
    assert.equal(patched?.body.message, 'missing (reconcile r-2)');
    assert.deepEqual(patched?.body.metadata, { annotations: { [RECONCILE_ID_ANNOTATION]: 'r-2' } });
  });

  it('records an Event outside a reconcile as it is', async () => {
    const { client, sent } = recordingClient();
    await new EventRecorder(client).record(configMapType, object, { type: 'Normal', reason: 'Synced', message: 'ok' });
    assert.equal(sent[0]?.body.message, 'ok');
    assert.ok(sent[0], 'an Event was created');
    assert.equal((sent[0].body.metadata as { annotations?: object }).annotations, undefined);
  });
});
