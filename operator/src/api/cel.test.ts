import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileRules, isTransitionRule, toCelValue } from './cel.ts';

describe('compileRules', () => {
  it('lists the rules a value breaks, with their messages and field paths', () => {
    const check = compileRules([
      { rule: 'self.min <= self.max', message: 'min must not exceed max', fieldPath: '.min' },
      { rule: 'self.max <= 10', message: 'max is at most 10' },
    ]);
    assert.deepEqual(check({ min: 1, max: 5 }), []);
    assert.deepEqual(check({ min: 6, max: 5 }), [
      { rule: 'self.min <= self.max', message: 'min must not exceed max', pointer: '/min' },
    ]);
  });

  it('does int arithmetic on durations as the API server does', () => {
    const check = compileRules([
      {
        rule: 'duration(self.perTry).getMilliseconds() * self.attempts <= duration(self.timeout).getMilliseconds()',
        message: 'too long',
      },
    ]);
    assert.deepEqual(check({ perTry: '500ms', attempts: 4, timeout: '2s' }), []);
    assert.equal(check({ perTry: '500ms', attempts: 5, timeout: '2s' }).length, 1);
  });

  it('tells int from string, as int-or-string rules need', () => {
    const check = compileRules([
      { rule: "type(self) == int ? self >= 0 : self.matches('^[0-9]+%$')", message: 'count or percent' },
    ]);
    assert.deepEqual(check(3), []);
    assert.deepEqual(check('25%'), []);
    assert.equal(check('25').length, 1);
  });

  it('fails a rule it cannot evaluate, saying why', () => {
    const [failure] = compileRules([{ rule: 'self.a.size() > 0', message: 'a is empty' }])({});
    assert.match(failure?.message ?? '', /^a is empty \(.+\)$/);
  });

  it('leaves transition rules to the API server', () => {
    assert.equal(isTransitionRule({ rule: 'self == oldSelf', message: 'immutable' }), true);
    assert.deepEqual(compileRules([{ rule: 'self == oldSelf', message: 'immutable' }])('x'), []);
  });
});

it('toCelValue turns integral numbers into CEL ints and leaves the rest', () => {
  assert.deepEqual(toCelValue({ a: [1, 1.5, 'x'], b: { c: true } }), { a: [1n, 1.5, 'x'], b: { c: true } });
});
