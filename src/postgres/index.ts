/**
 * `keyward/postgres`: read widget hash records from Postgres and invalidate every instance's
 * cache over LISTEN/NOTIFY, through the `pg` client you already have (no run-time import of it).
 */

export type { InvalidationStats } from '../core/invalidation-bus.js'
export {
  type PgInvalidation,
  type PgInvalidationOptions,
  pgInvalidation,
} from './invalidation.js'
export { type PgRecordResolver, type PgRecordResolverOptions, pgRecordResolver } from './record-resolver.js'
export { type InvalidationTriggerOptions, invalidationTriggerSql } from './trigger.sql.js'
export type { PgListenClient, PgNotification, PgPool, PgPoolClient, PgQueryable } from './types.js'
