// Database provisioning: engines (postgres, mysql) behind one interface, the redis cache engine, and the pure
// helpers around them.

export {
  aclUserMatches,
  buildCacheAclRules,
  buildCacheSecretData,
  buildRedisUrl,
  CACHE_COMMAND_RULES,
  type CacheAction,
  type CacheCredentials,
  type CacheOwner,
  type CacheRequest,
  type CacheResult,
  type CacheUser,
  classifyRedisError,
  computeCacheUser,
  type RedisAdminConnection,
  redisPasswordHash,
  validateCacheUser,
} from './cache-user.ts';
export {
  buildDatabaseSecretData,
  buildDatabaseUrl,
  type DatabaseCredentials,
  generatePassword,
  PASSWORD_BYTES,
} from './credentials.ts';
export { classifyConnectionError, redact } from './errors.ts';
export { createEngine, EngineRegistry } from './factory.ts';
export {
  checkMysqlGrantable,
  computeDatabaseName,
  computeUsername,
  type DatabaseEngineName,
  InvalidIdentifierError,
  MARKS_DATABASE,
  quoteMysqlIdentifier,
  quotePostgresIdentifier,
  validateIdentifier,
  validateTarget,
} from './identifiers.ts';
export { createMysqlEngine, escapeGrantDatabase, MYSQL_ACCOUNT_HOST, MYSQL_DATABASE_PRIVILEGES } from './mysql.ts';
export {
  type Claim,
  decideClaim,
  type Found,
  formatOwnerMark,
  OWNER_MARK_PREFIX,
  type OwnedObject,
  OwnershipConflictError,
  parseOwnerMark,
} from './ownership.ts';
export { createPostgresEngine } from './postgres.ts';
export {
  CACHE_OWNERS_KEY,
  type CacheEngine,
  connectRedis,
  connectRedisUrl,
  createRedisEngine,
  RedisEngineRegistry,
} from './redis.ts';
export type {
  AdminConnection,
  ConnectionCheck,
  ConnectionFailureReason,
  DatabaseAction,
  DatabaseEngine,
  DatabaseRequest,
  DatabaseResult,
  DatabaseTarget,
} from './types.ts';
