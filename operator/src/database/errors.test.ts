import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifyConnectionError, redact } from './errors.ts';

describe('redact', () => {
  it('removes a secret and its URL-encoded form', () => {
    assert.equal(redact('a p@ss b p%40ss c', ['p@ss']), 'a [redacted] b [redacted] c');
    assert.equal(redact('nothing', ['']), 'nothing');
  });
});

describe('classifyConnectionError', () => {
  const cases: [string, object, string][] = [
    [
      'postgres wrong password',
      { code: '28P01', message: 'password authentication failed for user "a"' },
      'AuthenticationFailed',
    ],
    [
      'mysql wrong password',
      { code: 'ER_ACCESS_DENIED_ERROR', errno: 1045, message: 'Access denied' },
      'AuthenticationFailed',
    ],
    ['refused', { code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:1' }, 'ConnectionRefused'],
    ['unknown host', { code: 'ENOTFOUND', message: 'getaddrinfo ENOTFOUND x' }, 'HostNotFound'],
    ['timeout', { message: 'Connection terminated due to connection timeout' }, 'ConnectTimeout'],
    ['privileges', { code: '42501', message: 'permission denied' }, 'InsufficientPrivileges'],
    ['anything else', { code: 'XX000', message: 'boom' }, 'ServerError'],
  ];
  for (const [what, error, reason] of cases) {
    it(`says ${reason} for ${what}`, () => {
      assert.equal(classifyConnectionError(error, 'postgres h:1', []).reason, reason);
    });
  }

  it('never echoes the password, even when the driver does', () => {
    const { message } = classifyConnectionError({ message: 'bad password s3cr3t!' }, 'mysql h:1', ['s3cr3t!']);
    assert.equal(message.includes('s3cr3t!'), false);
    assert.match(message, /mysql h:1/);
  });
});
