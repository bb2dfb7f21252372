import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAdminUrl, runDir } from './config.ts';

describe('parseAdminUrl', () => {
  it('reads a postgres URL with a percent-encoded password and a database', () => {
    assert.deepEqual(parseAdminUrl('postgres', 'postgresql://admin:p%40ss%2Fw@db.local:6543/main'), {
      engine: 'postgres',
      host: 'db.local',
      port: 6543,
      username: 'admin',
      password: 'p@ss/w',
      database: 'main',
    });
  });

  it('defaults the port and ignores the path on mysql', () => {
    assert.deepEqual(parseAdminUrl('mysql', 'mysql://root:x@[::1]/'), {
      engine: 'mysql',
      host: '::1',
      port: 3306,
      username: 'root',
      password: 'x',
    });
  });

  it('names the variable when the scheme is wrong, without echoing the URL', () => {
    assert.throws(
      () => parseAdminUrl('mysql', 'postgresql://root:hunter2@h/'),
      (error: Error) => error.message.includes('FLOTILLA_MYSQL_URL') && !error.message.includes('hunter2'),
    );
  });
});

describe('runDir', () => {
  it('is keyed by uid outside the home folder', () => {
    assert.equal(runDir(0), '/var/tmp/flotilla-databases-0');
    assert.equal(runDir(1000), '/var/tmp/flotilla-databases-1000');
  });
});
