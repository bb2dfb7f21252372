// Multi-document YAML read with the place of every node, so that an error at
// `spec.ports[0].port` can name its line. js-yaml's event stream carries source offsets; the values
// come from the same events (constructFromEvents), so positions and values cannot disagree.
import { constructFromEvents, EVENT_ID, type Event, getScalarValue, parseEvents } from 'js-yaml';

/** Where a node is: the offset of its key when it is a mapping value, else of the node itself. */
interface PositionNode {
  offset: number;
  /** Mapping values by key, sequence items by index. */
  children?: Map<string, PositionNode> | PositionNode[];
}

export interface LocatedDocument {
  value: unknown;
  /** 1-based line of the document's first node. */
  line: number;
  /** The 1-based line of `path` (segments: keys and indices), or of its nearest ancestor found. */
  lineOf(path: readonly (string | number)[]): number;
}

/** Parses every document of `text`; throws js-yaml's error (with its line) on a syntax error. */
export function parseLocated(text: string, filename?: string): LocatedDocument[] {
  const events = parseEvents(text, filename === undefined ? {} : { filename });
  const values = constructFromEvents(events, { source: text, ...(filename === undefined ? {} : { filename }) });
  const lineStarts = computeLineStarts(text);
  const toLine = (offset: number): number => lineAt(lineStarts, offset);
  const roots = readDocuments(events, text);
  return values.map((value, index) => {
    const root = roots[index];
    const line = root ? toLine(root.offset) : 1;
    return {
      value,
      line,
      lineOf: (path) => (root ? toLine(descend(root, path).offset) : line),
    };
  });
}

function descend(root: PositionNode, path: readonly (string | number)[]): PositionNode {
  let node = root;
  for (const segment of path) {
    const { children } = node;
    const next = Array.isArray(children)
      ? children[Number(segment)]
      : children instanceof Map
        ? children.get(String(segment))
        : undefined;
    if (!next) break;
    node = next;
  }
  return node;
}

/** The root node of each document, in order (an empty document's is undefined). */
function readDocuments(events: readonly Event[], text: string): (PositionNode | undefined)[] {
  const roots: (PositionNode | undefined)[] = [];
  let index = 0;
  const read = (): PositionNode => {
    const event = events[index++];
    if (!event) throw new Error('unexpected end of YAML events');
    switch (event.type) {
      case EVENT_ID.SCALAR:
        return { offset: event.valueStart };
      case EVENT_ID.ALIAS:
        return { offset: event.anchorStart };
      case EVENT_ID.SEQUENCE: {
        const items: PositionNode[] = [];
        while (events[index]?.type !== EVENT_ID.POP) items.push(read());
        index++;
        return { offset: event.start, children: items };
      }
      case EVENT_ID.MAPPING: {
        const entries = new Map<string, PositionNode>();
        while (events[index]?.type !== EVENT_ID.POP) {
          const keyEvent = events[index];
          const key = read();
          const value = read();
          const name = keyEvent?.type === EVENT_ID.SCALAR ? getScalarValue(text, keyEvent) : String(key.offset);
          entries.set(name, { ...value, offset: key.offset });
        }
        index++;
        return { offset: event.start, children: entries };
      }
      default:
        throw new Error(`unexpected YAML event ${event.type}`);
    }
  };
  while (index < events.length) {
    const event = events[index++];
    if (event?.type !== EVENT_ID.DOCUMENT) continue;
    roots.push(events[index]?.type === EVENT_ID.POP ? undefined : read());
    index++; // the document's POP
  }
  return roots;
}

function computeLineStarts(text: string): number[] {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === '\n') starts.push(i + 1);
  return starts;
}

function lineAt(starts: readonly number[], offset: number): number {
  let low = 0;
  let high = starts.length - 1;
  while (low < high) {
    const mid = (low + high + 1) >> 1;
    if ((starts[mid] ?? 0) <= offset) low = mid;
    else high = mid - 1;
  }
  return low + 1;
}
