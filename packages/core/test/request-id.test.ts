import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { promisify } from 'node:util'
import { newRequestId } from '@apiward/core'
import { describe, expect, it } from 'vitest'

const GENERATED_ID = /^[A-Za-z0-9_-]{22}$/

function commonPrefixLength(a: string, b: string): number {
  let i = 0
  while (i < a.length && a[i] === b[i]) i++
  return i
}

describe('newRequestId', () => {
  it('makes IDs of 22 random base64url characters, all distinct', () => {
    const ids = Array.from({ length: 1000 }, () => newRequestId())
    expect(new Set(ids).size).toBe(1000)
    for (const id of ids) expect(id).toMatch(GENERATED_ID)
  })

  it('gives consecutive IDs no common prefix or counter a client could measure volume with', () => {
    const ids = Array.from({ length: 1000 }, () => newRequestId())
    // Two random IDs share their first 6 characters (36 bits) once in 69 billion pairs.
    for (let i = 1; i < ids.length; i++) {
      expect(commonPrefixLength(ids[i - 1]!, ids[i]!)).toBeLessThan(6)
    }
    const firstGroups = new Set(ids.map((id) => id.slice(0, 6)))
    expect(firstGroups.size).toBeGreaterThan(990)
  })

  it('comes from the global Web Crypto, so core imports no node:crypto', () => {
    const source = readFileSync(new URL('../src/request-id.ts', import.meta.url), 'utf8')
    expect(source).not.toMatch(/from 'node:/)
  })

  it('makes the same kind of IDs where the runtime has no Buffer (the Web Crypto-only path)', async () => {
    const source = new URL('../src/request-id.ts', import.meta.url).pathname
    const script = `delete globalThis.Buffer
      const { newRequestId } = await import(${JSON.stringify(source)})
      const ids = Array.from({ length: 600 }, () => newRequestId())
      console.log(JSON.stringify(ids))`
    const { stdout } = await promisify(execFile)(process.execPath, [
      '--experimental-strip-types',
      '--no-warnings',
      '--input-type=module',
      '-e',
      script,
    ]).catch(async () =>
      // Node 20 cannot strip types: the built module is the same code.
      promisify(execFile)(process.execPath, [
        '--input-type=module',
        '-e',
        script.replace(
          JSON.stringify(source),
          JSON.stringify(source.replace('/src/', '/dist/').replace(/\.ts$/, '.js')),
        ),
      ]),
    )
    const ids = JSON.parse(stdout) as string[]
    expect(new Set(ids).size).toBe(600)
    for (const id of ids) expect(id).toMatch(GENERATED_ID)
    expect(new Set(ids.join('')).size).toBe(64)
  })
})
