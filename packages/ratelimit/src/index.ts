export { ipKeyOf } from '@apiward/core'
export { type BruteForceGuard, type BruteForceOptions, bruteForce, type LoginVerdict } from './brute-force.js'
export type { ClientIpOptions, Ipv6GroupingOptions } from './client-ip.js'
export { RATELIMIT_CODES, type RateLimitErrorCode } from './codes.js'
export { RATELIMIT_EVENTS, type RateLimitEventMap, type RateLimitEventType } from './events.js'
export { type IpFilterOptions, ipFilter } from './ip-filter.js'
export type { KeyOptions, RateLimitKey } from './keys.js'
export { type MemoryStoreOptions, memoryStore } from './memory-store.js'
export type { OnStoreFailure, StoreOptions } from './outage.js'
export { type RateLimitOptions, type RateLimitWindow, rateLimit } from './rate-limit.js'
export { type RedisClientLike, type RedisStoreOptions, redisStore } from './redis-store.js'
export {
  type Counter,
  type CounterSpec,
  type CounterState,
  type RateLimitStore,
  type StoreFailureReason,
  StoreUnavailableError,
} from './store.js'
export { normalizeUsername } from './username.js'
