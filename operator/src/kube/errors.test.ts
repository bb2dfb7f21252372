import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifyError, isNamespaceTerminating, KubeApiError } from './errors.ts';

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

describe('isNamespaceTerminating', () => {
  const refused = (causes: { reason: string }[], code = 403) =>
    new KubeApiError('APPLY', '/apis/apps/v1/namespaces/shop/deployments/orders', code, {
      reason: 'Forbidden',
      message: 'unable to create new content in namespace shop because it is being terminated',
      details: { causes },
    });
  it('is the 403 of the NamespaceLifecycle admission plugin', () => {
    assert.equal(isNamespaceTerminating(refused([{ reason: 'NamespaceTerminating' }])), true);
  });
  it('is not any other 403, nor another status with that cause', () => {
    assert.equal(isNamespaceTerminating(refused([])), false);
    assert.equal(isNamespaceTerminating(refused([{ reason: 'NamespaceTerminating' }], 409)), false);
    assert.equal(isNamespaceTerminating(new Error('being terminated')), false);
  });
});
