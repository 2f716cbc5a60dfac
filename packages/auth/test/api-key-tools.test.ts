import { createHash } from 'node:crypto'
import { generateApiKey, hashApiKey, MAX_API_KEY_LENGTH, parseApiKey } from '@apiward/auth'
import { describe, expect, it } from 'vitest'

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'

/** The same key with the character at `i` replaced by another base62 character. */
function typo(key: string, i: number): string {
  const c = key[i]!
  const other = BASE62[(BASE62.indexOf(c) + 1) % 62]!
  return key.slice(0, i) + other + key.slice(i + 1)
}

describe('generateApiKey()', () => {
  it('makes a key of the form <prefix>_<id>_<secret><checksum> with its id and storage hash', () => {
    const made = generateApiKey({ prefix: 'ak_live' })
    expect(made.key).toMatch(/^ak_live_[0-9A-Za-z]{12}_[0-9A-Za-z]{38}$/)
    expect(made.prefix).toBe('ak_live')
    expect(made.key.split('_')[2]).toBe(made.id)
    expect(made.hash).toBe(`sha256:${createHash('sha256').update(made.key).digest('hex')}`)
    expect(parseApiKey(made.key)).toEqual({ prefix: 'ak_live', id: made.id })
  })

  it('never repeats a key or an id over thousands of keys', () => {
    const keys = new Set<string>()
    const ids = new Set<string>()
    for (let i = 0; i < 5000; i++) {
      const { key, id } = generateApiKey({ prefix: 'ak' })
      keys.add(key)
      ids.add(id)
    }
    expect(keys.size).toBe(5000)
    expect(ids.size).toBe(5000)
  })

  it('draws every base62 character about equally often, without modulo bias', () => {
    const counts = new Map<string, number>()
    for (let i = 0; i < 2000; i++) {
      const secret = generateApiKey({ prefix: 'ak' }).key.split('_')[2]!.slice(0, 32)
      for (const c of secret) counts.set(c, (counts.get(c) ?? 0) + 1)
    }
    expect(counts.size).toBe(62)
    const expected = (2000 * 32) / 62
    for (const n of counts.values()) {
      expect(n).toBeGreaterThan(expected * 0.85)
      expect(n).toBeLessThan(expected * 1.15)
    }
  })

  it('refuses a prefix that the key format cannot carry, naming the option', () => {
    for (const prefix of [
      '',
      'AK_live',
      'ak_',
      '_ak',
      'ak__live',
      'ak-live',
      '1ak',
      'a'.repeat(33),
      undefined,
    ]) {
      expect(() => generateApiKey({ prefix } as { prefix: string })).toThrow(
        /generateApiKey\(\): prefix must be/,
      )
    }
    expect(() => generateApiKey(undefined as unknown as { prefix: string })).toThrow(TypeError)
  })
})

describe('parseApiKey()', () => {
  const { key, id } = generateApiKey({ prefix: 'ak_test_eu1' })

  it('reads a prefix with several words', () => {
    expect(parseApiKey(key)).toEqual({ prefix: 'ak_test_eu1', id })
  })

  it('rejects a typo at any position of the id, the secret or the checksum', () => {
    const start = key.indexOf(id)
    for (let i = start; i < key.length; i++) {
      if (key[i] === '_') continue
      expect(parseApiKey(typo(key, i)), `typo at ${i}`).toBeUndefined()
    }
  })

  it('rejects a typo in the prefix, a truncated key and an extended key', () => {
    expect(parseApiKey(`ak_tesu_eu1${key.slice('ak_test_eu1'.length)}`)).toBeUndefined()
    expect(parseApiKey(key.slice(0, -1))).toBeUndefined()
    expect(parseApiKey(`${key}0`)).toBeUndefined()
    expect(parseApiKey(key.toUpperCase())).toBeUndefined()
  })

  it('rejects garbage without throwing', () => {
    const garbage = [
      '',
      '_',
      '__',
      'ak__',
      'ak_id_',
      `ak_${'a'.repeat(30)}`,
      `_id_${'a'.repeat(30)}`,
      `ak_i-d_${'a'.repeat(30)}`,
      `ak_${'b'.repeat(65)}_${'a'.repeat(30)}`,
      `ak_id_${'a'.repeat(21)}`,
      'ak_live_abc_ключключключключключключключ',
      `ak_live_abc_${'a'.repeat(MAX_API_KEY_LENGTH)}`,
      'Bearer abc',
      '\u0000\u0001',
    ]
    for (const value of garbage) expect(parseApiKey(value), value).toBeUndefined()
    expect(parseApiKey(42 as unknown as string)).toBeUndefined()
  })
})

describe('hashApiKey()', () => {
  it('is deterministic, tells keys apart and never contains the key', () => {
    const a = generateApiKey({ prefix: 'ak' }).key
    const b = generateApiKey({ prefix: 'ak' }).key
    expect(hashApiKey(a)).toBe(hashApiKey(a))
    expect(hashApiKey(a)).not.toBe(hashApiKey(b))
    expect(hashApiKey(a)).toMatch(/^sha256:[0-9a-f]{64}$/)
    expect(hashApiKey(a)).not.toContain(a.split('_')[2])
  })

  it('refuses a value that is not a string', () => {
    expect(() => hashApiKey(undefined as unknown as string)).toThrow(
      /hashApiKey\(key\): key must be a string/,
    )
  })
})
