// Heap held by the memory store under a flood of invented keys:
// `node --expose-gc packages/ratelimit/bench/keys.mjs [maxKeys]` after `npx tsc -b`; without an
// argument it runs itself once per maxKeys of the table, so that no run holds another's heap.
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
// Each request carries a new made-up key (as a flood of invented API keys would), counted by a key
// function so that every one reaches the store; the heap is measured after a full collection.
import { SecurityContext } from '@apiward/core'
import { memoryStore, rateLimit } from '../dist/index.js'

const FLOOD = 1_000_000

class BenchRequest {
  method = 'GET'
  path = '/'
  rawPath = '/'
  route = undefined
  query = {}
  params = {}
  body = undefined
  tls = undefined
  ip = '203.0.113.7'
  constructor(key) {
    this.key = key
  }
  header() {
    return this.key
  }
  headerValues() {
    return [this.key]
  }
}
const binding = { setHeader() {}, interceptSend() {}, watchFinish() {} }

function heap() {
  globalThis.gc()
  return process.memoryUsage().heapUsed
}

const arg = process.argv[2]
if (arg === undefined) {
  for (const maxKeys of ['1000000000', '1000000', '100000', '10000']) {
    const self = fileURLToPath(import.meta.url)
    process.stdout.write(execFileSync(process.execPath, ['--expose-gc', '--no-warnings', self, maxKeys]))
  }
} else {
  const maxKeys = Number(arg)
  const before = heap()
  const store = memoryStore({ maxKeys })
  const guard = rateLimit({ points: 100, duration: 3600, store, key: (ctx) => ctx.req.header('x-api-key') })
  for (let i = 0; i < FLOOD; i++) {
    const key = `ak_live_${i.toString(36).padStart(22, '0')}`
    try {
      guard(new SecurityContext(new BenchRequest(key), binding, { requestId: 'bench' }))
    } catch {}
  }
  const grown = heap() - before
  const held = Math.min(FLOOD, maxKeys)
  console.log(
    `${FLOOD} invented keys, maxKeys ${String(maxKeys).padStart(10)}: +${(grown / 1e6).toFixed(1)} MB heap, ${held} keys held, ${(grown / held).toFixed(0)} bytes a key`,
  )
  // Keeps the store reachable until it was measured.
  if (store.remote) console.log(guard)
}
