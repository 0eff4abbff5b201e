/**
 * `keyward/redis`: invalidate every instance's cached widget records (or bearer tokens) over
 * Redis pub/sub, with the official `redis` client or `ioredis` (no run-time import of either).
 */
export type { InvalidationStats } from '../core/invalidation-bus.js'
export { type RedisInvalidation, type RedisInvalidationOptions, redisInvalidation } from './invalidation.js'
export type {
  ClientEventListener,
  IoRedisSubscriber,
  NodeRedisMessageListener,
  NodeRedisSubscriber,
  RedisPublisher,
  RedisSubscriber,
} from './types.js'
