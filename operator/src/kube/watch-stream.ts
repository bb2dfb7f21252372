// Reads a watch response: one JSON object per line, possibly split across chunks or several to a chunk.
import { type ApiStatus, KubeApiError } from './errors.ts';
import type { KubeObject } from './objects.ts';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK';

export interface WatchEvent<T extends KubeObject = KubeObject> {
  type: WatchEventType;
  object: T;
}

/** Yields the events of a watch body; an ERROR event (e.g. 410 Expired) is thrown as a KubeApiError. */
export async function* readWatchEvents<T extends KubeObject>(
  chunks: AsyncIterable<Buffer | string>,
  path: string,
): AsyncGenerator<WatchEvent<T>> {
  const decoder = new TextDecoder();
  let pending = '';
  for await (const chunk of chunks) {
    pending += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    let newline = pending.indexOf('\n');
    while (newline >= 0) {
      const line = pending.slice(0, newline).trim();
      pending = pending.slice(newline + 1);
      if (line) yield parseWatchLine<T>(line, path);
      newline = pending.indexOf('\n');
    }
  }
  const rest = (pending + decoder.decode()).trim();
  if (rest) yield parseWatchLine<T>(rest, path);
}

function parseWatchLine<T extends KubeObject>(line: string, path: string): WatchEvent<T> {
  const event = JSON.parse(line) as { type: string; object: unknown };
  if (event.type === 'ERROR') {
    const status = event.object as ApiStatus;
    throw new KubeApiError('WATCH', path, status.code ?? 500, status);
  }
  return event as WatchEvent<T>;
}
