import { expect } from 'vitest'
import type { Example } from './example.js'
import { type Answer, freshAddress, send } from './http.js'

/** What a load run saw: every answer's status, and every request that got no answer. */
export interface LoadResult {
  statuses: number[]
  failures: string[]
}

/**
 * Keeps `workers` requests in flight against the instances (round robin) until `stop()` resolves,
 * each a fresh principal reading its notes: every one must be answered within `timeoutMs`.
 */
export async function load(
  apps: readonly Example[],
  token: () => Promise<string>,
  during: () => Promise<void>,
  workers = 4,
  timeoutMs = 3000,
): Promise<LoadResult> {
  const result: LoadResult = { statuses: [], failures: [] }
  let running = true
  let n = 0
  const worker = async () => {
    while (running) {
      const app = apps[n++ % apps.length]!
      try {
        const res: Answer = await send(app.port, {
          path: '/notes',
          headers: { Authorization: `Bearer ${await token()}` },
          from: freshAddress(),
          timeoutMs,
        })
        result.statuses.push(res.status)
      } catch (err) {
        result.failures.push((err as Error).message)
      }
    }
  }
  const pool = Array.from({ length: workers }, worker)
  try {
    await during()
  } finally {
    running = false
    await Promise.all(pool)
  }
  return result
}

/** No 5xx, no request left without an answer, and the load did run. */
export function expectServed(result: LoadResult): void {
  expect(result.failures).toEqual([])
  expect(result.statuses.length).toBeGreaterThan(10)
  expect(result.statuses.filter((s) => s >= 500)).toEqual([])
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Retries `check` until it returns true, for at most `ms`. */
export async function eventually(check: () => Promise<boolean>, ms = 15_000): Promise<boolean> {
  const end = Date.now() + ms
  for (;;) {
    if (await check()) return true
    if (Date.now() > end) return false
    await sleep(250)
  }
}
