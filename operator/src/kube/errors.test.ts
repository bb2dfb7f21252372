import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifyError, KubeApiError } from './errors.ts';

const apiError = (code: number, reason = '', message = '', causes?: Array<{ reason: string }>) =>
  new KubeApiError('GET', '/api/v1/x', code, { code, reason, message, details: causes ? { causes } : {} });

describe('classifyError', () => {
  const table: Array<[string, unknown, string]> = [
    ['404', apiError(404, 'NotFound'), 'notFound'],
    ['409 stale resourceVersion', apiError(409, 'Conflict'), 'conflict'],
    ['409 already exists', apiError(409, 'AlreadyExists'), 'conflict'],
    ['410 expired', apiError(410, 'Expired'), 'gone'],
    [
      '504 too large resource version',
      apiError(504, 'Timeout', 'Too large resource version: 100, current: 90', [{ reason: 'ResourceVersionTooLarge' }]),
      'gone',
    ],
    ['401', apiError(401, 'Unauthorized'), 'forbidden'],
    ['403', apiError(403, 'Forbidden'), 'forbidden'],
    ['400', apiError(400, 'BadRequest'), 'invalid'],
    ['415 strategic merge on a custom resource', apiError(415, 'UnsupportedMediaType'), 'invalid'],
    ['422', apiError(422, 'Invalid'), 'invalid'],
    ['429', apiError(429, 'TooManyRequests'), 'transient'],
    ['500', apiError(500, 'InternalError'), 'transient'],
    ['503', apiError(503, 'ServiceUnavailable'), 'transient'],
    ['connection refused', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), 'transient'],
    ['a thrown string', 'boom', 'transient'],
  ];
  for (const [name, error, expected] of table) {
    it(`${name} is ${expected}`, () => assert.equal(classifyError(error), expected));
  }
});
