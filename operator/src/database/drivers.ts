// The database drivers, each imported on first use: an operator with no DatabaseServer of an engine
// never loads its driver (pg, mysql2 and ioredis together cost ~8 MiB of RSS at start-up otherwise).

import type { Redis } from 'ioredis';
import type { default as Mysql } from 'mysql2/promise';
import type { default as Pg } from 'pg';

let pg: Promise<typeof Pg> | undefined;
let mysql: Promise<typeof Mysql> | undefined;
let redis: Promise<typeof Redis> | undefined;

export const loadPg = (): Promise<typeof Pg> => (pg ??= import('pg').then((module) => module.default));
export const loadMysql = (): Promise<typeof Mysql> =>
  (mysql ??= import('mysql2/promise').then((module) => module.default));
export const loadRedis = (): Promise<typeof Redis> => (redis ??= import('ioredis').then((module) => module.Redis));

/** A value made once, on the first call, by an async function (a pool that needs its driver). */
export function once<T>(make: () => Promise<T>): { get(): Promise<T>; made(): Promise<T> | undefined } {
  let value: Promise<T> | undefined;
  return { get: () => (value ??= make()), made: () => value };
}
