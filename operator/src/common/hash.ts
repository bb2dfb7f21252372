// The one way Flotilla hashes: SHA-256 in hex, of text or of a value in canonical JSON.
import { createHash } from 'node:crypto';
import { canonicalize } from './canonical.ts';

/** SHA-256 of `text`, in hex. */
export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The first `length` hex digits of the SHA-256 of `value` as canonical JSON (keys sorted): equal values, equal hashes. */
export function canonicalHash(value: unknown, length: number): string {
  return sha256Hex(JSON.stringify(canonicalize(value))).slice(0, length);
}
