// The CEL rules of the schemas (`x-kubernetes-validations`), evaluated outside the API server so
// that the operator's validation answers as the API server does. Transition rules (those reading
// oldSelf) need the stored object and are left to the API server.
import { parse } from '@marcbachmann/cel-js';
import type { CelRule } from './common.ts';

export interface RuleFailure {
  rule: string;
  message: string;
  /** JSON pointer below the node the rule sits on, e.g. `/name`; empty for the node itself. */
  pointer: string;
}

export function isTransitionRule(rule: CelRule): boolean {
  return /\boldSelf\b/.test(rule.rule);
}

/**
 * JSON as CEL sees Kubernetes objects: integral numbers are CEL ints (BigInt here), so that
 * `type(self) == int` and int arithmetic behave as in the API server.
 */
export function toCelValue(value: unknown): unknown {
  if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value);
  if (Array.isArray(value)) return value.map(toCelValue);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, child]) => [key, toCelValue(child)]));
  }
  return value;
}

/** Compiles the rules of one schema node; the result checks a value and lists the rules it breaks. */
export function compileRules(rules: readonly CelRule[]): (self: unknown) => RuleFailure[] {
  const compiled = rules.filter((rule) => !isTransitionRule(rule)).map((rule) => ({ rule, program: parse(rule.rule) }));
  return (self) => {
    const failures: RuleFailure[] = [];
    const context = { self: toCelValue(self) };
    for (const { rule, program } of compiled) {
      let message = rule.message;
      try {
        if (program(context) === true) continue;
      } catch (error) {
        // As the API server does: a rule that cannot be evaluated fails, and says why.
        const reason = (error instanceof Error ? error.message : String(error)).split('\n')[0];
        message = `${rule.message} (${reason})`;
      }
      failures.push({ rule: rule.rule, message, pointer: (rule.fieldPath ?? '').replaceAll('.', '/') });
    }
    return failures;
  };
}
