// Micro-benchmark of the memory path: `node packages/ratelimit/bench/memory.mjs` after `npx tsc -b`.
// Compares rate-limiter-flexible's RateLimiterMemory (promise per call), its internal storage read
// synchronously (private API), apiward's synchronous MemoryCounter (hit: always adds; take: only what
// fits, what the guard does), and the whole rateLimit() guard.
import { SecurityContext } from '@apiward/core'
import { RateLimiterMemory } from 'rate-limiter-flexible'
import { rateLimit } from '../dist/index.js'
import { MemoryCounter } from '../dist/memory-store.js'

const N = 1_000_000
const KEYS = Array.from({ length: 1000 }, (_, i) => `10.0.${i >> 8}.${i & 255}`)
const BIG = 1e12

async function measure(label, fn) {
  let best = Number.POSITIVE_INFINITY
  for (let round = 0; round < 5; round++) {
    const start = process.hrtime.bigint()
    await fn()
    const ns = Number(process.hrtime.bigint() - start) / N
    if (ns < best) best = ns
  }
  console.log(`${label.padEnd(48)} ${best.toFixed(0).padStart(6)} ns/op`)
}

const rlf = new RateLimiterMemory({ points: BIG, duration: 60 })
await measure('rate-limiter-flexible consume() awaited', async () => {
  for (let i = 0; i < N; i++) await rlf.consume(KEYS[i % 1000], 1)
})

const storage = new RateLimiterMemory({ points: BIG, duration: 60 })._memoryStorage
await measure('rate-limiter-flexible storage.incrby() (private)', () => {
  for (let i = 0; i < N; i++) storage.incrby(KEYS[i % 1000], 1, 60)
})

const counter = new MemoryCounter({ name: 'bench', points: BIG, duration: 60 })
await measure('apiward MemoryCounter.hit()', () => {
  for (let i = 0; i < N; i++) counter.hit(KEYS[i % 1000], 1)
})
await measure('apiward MemoryCounter.take()', () => {
  for (let i = 0; i < N; i++) counter.take(KEYS[i % 1000], 1)
})

class BenchRequest {
  method = 'GET'
  path = '/'
  rawPath = '/'
  route = undefined
  query = {}
  params = {}
  body = undefined
  tls = undefined
  constructor(ip) {
    this.ip = ip
  }
  header() {
    return undefined
  }
  headerValues() {
    return undefined
  }
}
const binding = { setHeader() {}, interceptSend() {}, watchFinish() {} }
const contexts = KEYS.map((ip) => new SecurityContext(new BenchRequest(ip), binding, { requestId: 'bench' }))
const guard = rateLimit({ points: 1e9, duration: 60 })
await measure('apiward rateLimit() guard, headers included', () => {
  for (let i = 0; i < N; i++) guard(contexts[i % 1000])
})
const burst = rateLimit({
  windows: [
    { points: 1e9, duration: 1 },
    { points: 1e9, duration: 3600 },
  ],
})
await measure('apiward rateLimit() guard, two windows', () => {
  for (let i = 0; i < N; i++) burst(contexts[i % 1000])
})
