import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  checkMysqlGrantable,
  computeDatabaseName,
  computeUsername,
  InvalidIdentifierError,
  quoteMysqlIdentifier,
  quoteMysqlString,
  quotePostgresIdentifier,
  quotePostgresString,
  validateIdentifier,
} from './identifiers.ts';

describe('validateIdentifier', () => {
  for (const good of ['shop_orders', '_x', 'a1', 'a'.repeat(63)]) {
    it(`accepts ${good.slice(0, 20)}`, () => {
      assert.equal(validateIdentifier('postgres', 'database', good), good);
    });
  }

  const hostile = [
    ['a quote', 'x"; DROP DATABASE y; --'],
    ['a backtick', 'x`; DROP DATABASE y; --'],
    ['a single quote', "x'@'%"],
    ['a semicolon', 'a;b'],
    ['a space', 'a b'],
    ['a NUL', 'a\0b'],
    ['upper case', 'Orders'],
    ['a leading digit', '1orders'],
    ['a dash', 'shop-orders'],
    ['non-ASCII', 'ordérs'],
    ['the empty string', ''],
    ['a reserved name', 'postgres'],
    ['a pg_ prefix', 'pg_monitor'],
    ['a MySQL system schema', 'mysql'],
  ] as const;
  for (const [what, value] of hostile) {
    it(`rejects ${what}`, () => {
      assert.throws(() => validateIdentifier('postgres', 'database', value), InvalidIdentifierError);
      assert.throws(() => validateIdentifier('mysql', 'username', value), InvalidIdentifierError);
    });
  }

  it('enforces each engine’s length limits', () => {
    assert.throws(() => validateIdentifier('postgres', 'database', 'a'.repeat(64)), /longer than 63/);
    assert.equal(validateIdentifier('mysql', 'database', 'a'.repeat(64)), 'a'.repeat(64));
    assert.throws(() => validateIdentifier('mysql', 'username', 'a'.repeat(33)), /longer than 32/);
  });
});

describe('quoting', () => {
  const cases: [string, (v: string) => string, string, string][] = [
    ['postgres identifier', quotePostgresIdentifier, 'a"b', '"a""b"'],
    ['mysql identifier', quoteMysqlIdentifier, 'a`b', '`a``b`'],
    ['mysql string', quoteMysqlString, "it's \\", "'it''s \\\\'"],
    ['postgres string', quotePostgresString, "it's", "'it''s'"],
    ['postgres string with a backslash', quotePostgresString, "a\\'", "E'a\\\\'''"],
  ];
  for (const [what, quote, input, expected] of cases) {
    it(`quotes a ${what}`, () => assert.equal(quote(input), expected));
  }
  it('refuses NUL characters', () => {
    assert.throws(() => quotePostgresIdentifier('a\0'), InvalidIdentifierError);
    assert.throws(() => quoteMysqlString('a\0'), InvalidIdentifierError);
  });
});

describe('computeDatabaseName', () => {
  it('is <namespace>_<name> with dashes as underscores', () => {
    assert.equal(computeDatabaseName('postgres', 'shop', 'orders-api'), 'shop_orders_api');
  });

  it('uses spec.database.name when set, validated', () => {
    assert.equal(computeDatabaseName('postgres', 'shop', 'orders', 'orders_db'), 'orders_db');
    assert.throws(() => computeDatabaseName('postgres', 'shop', 'orders', 'x";--'), InvalidIdentifierError);
  });

  it('keeps names with dots apart from names with dashes', () => {
    const dotted = computeDatabaseName('postgres', 'shop', 'a.b');
    assert.notEqual(dotted, computeDatabaseName('postgres', 'shop', 'a-b'));
    assert.match(dotted, /^shop_a_b_[0-9a-f]{10}$/);
  });

  it('cuts the longest names the API allows to the engine’s limit, uniquely and deterministically', () => {
    const namespace = 'n'.repeat(63);
    const long = `${'a'.repeat(200)}.${'b'.repeat(52)}`;
    const name = computeDatabaseName('postgres', namespace, long);
    assert.equal(name.length <= 63, true);
    assert.equal(name, computeDatabaseName('postgres', namespace, long));
    assert.notEqual(name, computeDatabaseName('postgres', namespace, `${long.slice(0, -1)}c`));
  });

  it('fits mysql names with their GRANT escapes into 64 characters', () => {
    const name = computeDatabaseName('mysql', 'n'.repeat(63), `${'a-'.repeat(100)}z`);
    assert.equal(name.length + (name.match(/_/g)?.length ?? 0) <= 64, true, name);
    assert.throws(() => checkMysqlGrantable('a_'.repeat(30)), /escaped/);
    assert.equal(checkMysqlGrantable('a_'.repeat(20)), 'a_'.repeat(20));
  });

  it('never yields a reserved name', () => {
    assert.equal(computeDatabaseName('mysql', 'information', 'schema'), '_information_schema');
    assert.equal(computeDatabaseName('postgres', 'pg', 'stats'), '_pg_stats');
  });
});

describe('computeUsername', () => {
  it('is the database name where it fits', () => {
    assert.equal(computeUsername('postgres', 'shop_orders'), 'shop_orders');
    assert.equal(computeUsername('mysql', 'shop_orders'), 'shop_orders');
  });

  it('is cut to 32 characters with a hash on mysql', () => {
    const database = `shop_${'x'.repeat(50)}`;
    const username = computeUsername('mysql', database);
    assert.equal(username.length, 32);
    assert.match(username, /^shop_x+_[0-9a-f]{10}$/);
    assert.equal(computeUsername('postgres', database), database);
  });
});
