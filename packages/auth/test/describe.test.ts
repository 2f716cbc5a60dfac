import { anyOf, apiKey, generateApiKey, jwt } from '@apiward/auth'
import { describeGuards } from '@apiward/core'
import { describe, expect, it } from 'vitest'

const ISS = 'https://issuer.example/'

describe('auth guards in a route inventory', () => {
  it('describe jwt() as authentication with its issuer, audience and algorithms, never its key', () => {
    const secret = 'x'.repeat(32)
    const [described] = describeGuards(
      jwt({ secret, issuer: ISS, audience: 'notes-api', algorithms: ['HS256'] }),
    )
    expect(described).toEqual({
      name: 'jwt',
      kind: 'authentication',
      settings: { issuer: ISS, audience: 'notes-api', algorithms: ['HS256'], required: true },
      readsRawBody: false,
    })
    expect(JSON.stringify(described)).not.toContain(secret)
  })

  it('describe apiKey() and anyOf() as authentication', () => {
    const made = generateApiKey({ prefix: 'ak_live' })
    const keys = apiKey({ prefix: 'ak_live', keys: [{ id: made.id, hash: made.hash }] })
    const either = anyOf(jwt({ secret: 'y'.repeat(32), issuer: ISS, audience: 'a' }), keys)
    expect(describeGuards(keys)[0]).toMatchObject({ name: 'apiKey', kind: 'authentication' })
    expect(describeGuards(either)[0]).toMatchObject({
      kind: 'authentication',
      settings: { of: ['jwt', 'apiKey'] },
    })
  })
})
