import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildDatabaseSecretData, buildDatabaseUrl, generatePassword } from './credentials.ts';

describe('generatePassword', () => {
  it('is 43 URL-safe characters from 32 random bytes', () => {
    const password = generatePassword();
    assert.equal(password.length, 43);
    assert.match(password, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(encodeURIComponent(password), password);
  });

  it('differs every time', () => {
    const seen = new Set(Array.from({ length: 200 }, () => generatePassword()));
    assert.equal(seen.size, 200);
  });

  it('encodes the bytes it is given as base64url', () => {
    assert.equal(
      generatePassword(() => Buffer.alloc(32, 0xff)),
      `${'_'.repeat(42)}8`,
    );
    assert.throws(() => generatePassword(() => Buffer.alloc(8)), /expected 32 random bytes/);
  });
});

describe('buildDatabaseUrl', () => {
  const base = { host: 'pg.db.svc', port: 5432, database: 'shop_orders', username: 'shop_orders', password: 'pw' };

  it('builds a postgresql URL', () => {
    assert.equal(
      buildDatabaseUrl({ engine: 'postgres', ...base }),
      'postgresql://shop_orders:pw@pg.db.svc:5432/shop_orders',
    );
  });

  it('builds a mysql URL', () => {
    assert.equal(
      buildDatabaseUrl({ engine: 'mysql', ...base, port: 3306 }),
      'mysql://shop_orders:pw@pg.db.svc:3306/shop_orders',
    );
  });

  it('percent-encodes every reserved character of the password and names', () => {
    const password = `p@ss:w/o?r#d[]%!'()* é`;
    const url = buildDatabaseUrl({ engine: 'postgres', ...base, password, database: 'a/b' });
    assert.equal(
      url,
      'postgresql://shop_orders:p%40ss%3Aw%2Fo%3Fr%23d%5B%5D%25%21%27%28%29%2A%20%C3%A9@pg.db.svc:5432/a%2Fb',
    );
    const parsed = new URL(url);
    assert.equal(decodeURIComponent(parsed.password), password);
    assert.equal(parsed.hostname, 'pg.db.svc');
  });

  it('brackets an IPv6 host', () => {
    assert.equal(new URL(buildDatabaseUrl({ engine: 'postgres', ...base, host: 'fd00::1' })).hostname, '[fd00::1]');
  });

  it('rejects a port out of range', () => {
    assert.throws(() => buildDatabaseUrl({ engine: 'postgres', ...base, port: 0 }), /invalid port/);
  });
});

describe('buildDatabaseSecretData', () => {
  it('holds the six keys of the <name>-db Secret', () => {
    const data = buildDatabaseSecretData({
      engine: 'mysql',
      host: 'h',
      port: 3306,
      database: 'd',
      username: 'u',
      password: 'p',
    });
    assert.deepEqual(data, {
      DATABASE_URL: 'mysql://u:p@h:3306/d',
      host: 'h',
      port: '3306',
      database: 'd',
      username: 'u',
      password: 'p',
    });
  });
});
