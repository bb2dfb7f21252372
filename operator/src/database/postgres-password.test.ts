import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { buildScramVerifier, postgresPasswordMatches } from './postgres-password.ts';

describe('postgresPasswordMatches', () => {
  const salt = Buffer.from('0123456789abcdef');
  const verifier = buildScramVerifier('right', salt);

  it('checks a SCRAM-SHA-256 verifier', () => {
    assert.match(verifier, /^SCRAM-SHA-256\$4096:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/);
    assert.equal(postgresPasswordMatches(verifier, 'u', 'right'), true);
    assert.equal(postgresPasswordMatches(verifier, 'u', 'wrong'), false);
  });

  it('checks an md5 hash (md5 of password then user name)', () => {
    const md5 = `md5${createHash('md5').update('secretalice').digest('hex')}`;
    assert.equal(postgresPasswordMatches(md5, 'alice', 'secret'), true);
    assert.equal(postgresPasswordMatches(md5, 'bob', 'secret'), false);
  });

  it('does not know missing or other forms', () => {
    assert.equal(postgresPasswordMatches(null, 'u', 'x'), undefined);
    assert.equal(postgresPasswordMatches('plain', 'u', 'x'), undefined);
  });
});
