// Durations as the API spells them (`500ms`, `1.5s`, `1h30m`: Go's syntax without µs and ns),
// converted to what each consumer accepts.
import { DURATION_PATTERN } from '../api/common.ts';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION = new RegExp(DURATION_PATTERN);
const PART = /([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)/g;

/** Milliseconds in a duration, rounded to a whole millisecond. Throws on a string the API would reject. */
export function parseDuration(text: string): number {
  if (!DURATION.test(text)) throw new Error(`not a duration: ${JSON.stringify(text)}`);
  let ms = 0;
  for (const [, amount, unit] of text.matchAll(PART)) {
    ms += Number(amount) * (UNIT_MS[unit as string] as number);
  }
  return Math.round(ms);
}

/**
 * The protobuf JSON form of a duration, seconds with a decimal fraction (`0.5s`, `90s`): the one
 * spelling that Istio's protojson decoder, Go's time.ParseDuration and CEL's duration() all accept.
 */
export function toProtoDuration(text: string): string {
  return `${parseDuration(text) / 1000}s`;
}

/**
 * The Gateway API form (GEP-2257: `^([0-9]{1,5}(h|m|s|ms)){1,4}$`, no fractions): the largest
 * units first, e.g. `1.5s` → `1s500ms`, `90s` → `1m30s`, `0s` for zero.
 */
export function toGatewayDuration(text: string): string {
  let rest = parseDuration(text);
  if (rest === 0) return '0s';
  let out = '';
  for (const [unit, size] of [
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
    ['ms', 1],
  ] as const) {
    const amount = Math.floor(rest / size);
    if (amount > 0) out += `${amount}${unit}`;
    rest -= amount * size;
  }
  return out;
}
