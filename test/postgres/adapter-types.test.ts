import type { Redis as IoRedis } from 'ioredis'
import type pg from 'pg'
import type { createClient } from 'redis'
import { describe, expectTypeOf, it } from 'vitest'
import type { Readiness } from '../../src/express/health-check.js'
import type { WidgetKeyOptions } from '../../src/index.js'
import type {
  PgInvalidation,
  PgInvalidationOptions,
  PgRecordResolver,
  PgRecordResolverOptions,
} from '../../src/postgres/index.js'
import type { RedisInvalidation, RedisInvalidationOptions } from '../../src/redis/index.js'

// the adapters describe the clients structurally; these are the real clients' types
describe('adapter types', () => {
  it('take pg.Pool, pg.Client and pg.PoolClient as they are', () => {
    expectTypeOf<pg.Pool>().toExtend<PgRecordResolverOptions['pool']>()
    expectTypeOf<pg.Client>().toExtend<PgRecordResolverOptions['pool']>()
    expectTypeOf<pg.Pool>().toExtend<NonNullable<PgInvalidationOptions['client']>>()
    expectTypeOf<pg.Client>().toExtend<NonNullable<PgInvalidationOptions['client']>>()
    expectTypeOf<() => Promise<pg.Client>>().toExtend<NonNullable<PgInvalidationOptions['connect']>>()
  })

  it('take the official redis client and ioredis as subscriber and publisher', () => {
    expectTypeOf<ReturnType<typeof createClient>>().toExtend<
      NonNullable<RedisInvalidationOptions['subscriber']>
    >()
    expectTypeOf<ReturnType<typeof createClient>>().toExtend<
      NonNullable<RedisInvalidationOptions['publisher']>
    >()
    expectTypeOf<IoRedis>().toExtend<NonNullable<RedisInvalidationOptions['subscriber']>>()
    expectTypeOf<IoRedis>().toExtend<NonNullable<RedisInvalidationOptions['publisher']>>()
  })

  it('fit verifyWidgetKey and healthCheck', () => {
    expectTypeOf<PgRecordResolver>().toExtend<WidgetKeyOptions['records']>()
    expectTypeOf<PgInvalidation>().toExtend<NonNullable<WidgetKeyOptions['invalidation']>>()
    expectTypeOf<RedisInvalidation>().toExtend<NonNullable<WidgetKeyOptions['invalidation']>>()
    expectTypeOf<PgInvalidation>().toExtend<Readiness>()
    expectTypeOf<RedisInvalidation>().toExtend<Readiness>()
  })
})
