import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifyError } from './errors.ts';
import { readWatchEvents } from './watch-stream.ts';

async function* chunks(...parts: string[]) {
  for (const part of parts) yield Buffer.from(part);
}

async function collect(parts: string[]) {
  const out: string[] = [];
  for await (const event of readWatchEvents(chunks(...parts), '/w'))
    out.push(`${event.type}:${event.object.metadata.name}`);
  return out;
}

const line = (type: string, name: string) => `${JSON.stringify({ type, object: { metadata: { name } } })}\n`;

describe('readWatchEvents', () => {
  it('splits lines across and within chunks, multi-byte characters included', async () => {
    const bytes = Buffer.from(line('ADDED', 'a') + line('MODIFIED', 'ü-b') + line('DELETED', 'c'));
    const cut = bytes.indexOf(Buffer.from('ü')) + 1; // between the two bytes of ü
    async function* raw() {
      yield bytes.subarray(0, cut);
      yield bytes.subarray(cut);
    }
    const events: string[] = [];
    for await (const event of readWatchEvents(raw(), '/w')) events.push(`${event.type}:${event.object.metadata.name}`);
    assert.deepEqual(events, ['ADDED:a', 'MODIFIED:ü-b', 'DELETED:c']);
    assert.deepEqual(await collect([line('ADDED', 'a').slice(0, 5), line('ADDED', 'a').slice(5)]), ['ADDED:a']);
  });

  it('throws an ERROR event as a KubeApiError (410 Expired is "gone")', async () => {
    const expired = `${JSON.stringify({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version' } })}\n`;
    await assert.rejects(collect([line('ADDED', 'a'), expired]), (error) => classifyError(error) === 'gone');
  });

  it('fails loudly on a line that does not parse instead of dropping it (row 9)', async () => {
    await assert.rejects(collect([line('ADDED', 'a'), '{"type":"MODIFIED","obj\n']), SyntaxError);
  });
});
