import { readFileSync } from 'node:fs'
import { newRequestId } from '@apiward/core'
import { describe, expect, it } from 'vitest'

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

function commonPrefixLength(a: string, b: string): number {
  let i = 0
  while (i < a.length && a[i] === b[i]) i++
  return i
}

describe('newRequestId', () => {
  it('makes random v4 UUIDs, all distinct', () => {
    const ids = Array.from({ length: 1000 }, () => newRequestId())
    expect(new Set(ids).size).toBe(1000)
    for (const id of ids) expect(id).toMatch(UUID_V4)
  })

  it('gives consecutive IDs no common prefix or counter a client could measure volume with', () => {
    const ids = Array.from({ length: 1000 }, () => newRequestId())
    // Two random UUIDs share their first 8 hex digits once in 4 billion pairs.
    for (let i = 1; i < ids.length; i++) {
      expect(commonPrefixLength(ids[i - 1]!, ids[i]!)).toBeLessThan(8)
    }
    const firstGroups = new Set(ids.map((id) => id.slice(0, 8)))
    expect(firstGroups.size).toBeGreaterThan(990)
  })

  it('comes from the global Web Crypto, so core imports no node:crypto', () => {
    const source = readFileSync(new URL('../src/request-id.ts', import.meta.url), 'utf8')
    expect(source).not.toMatch(/from 'node:/)
  })
})
