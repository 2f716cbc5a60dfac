import { createSign, generateKeyPairSync, type KeyObject, randomBytes } from 'node:crypto'
import { errors, importJWK, type JWK, type JWTVerifyOptions, jwtVerify, SignJWT } from 'jose'
import { describe, expect, it } from 'vitest'
import type { JwtAlgorithm } from '../src/algorithms.js'
import { UnusableKey, verifyWithKeys } from '../src/jws.js'
import { reasonOf } from '../src/jwt-verify.js'
import { verificationKey } from '../src/key-source.js'
import { NODE_ALGORITHMS } from '../src/node-verify.js'

const ISS = 'https://id.example.test/'
const AUD = 'api'
const now = () => Math.floor(Date.now() / 1000)
const OPTIONS: JWTVerifyOptions = {
  issuer: ISS,
  audience: AUD,
  requiredClaims: ['sub', 'exp'],
  clockTolerance: 5,
}
const segment = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')

interface Pair {
  alg: JwtAlgorithm
  signWith: KeyObject | Uint8Array
  jwk: JWK
}

const CURVES: Partial<Record<JwtAlgorithm, string>> = { ES256: 'P-256', ES384: 'P-384', ES512: 'P-521' }

function pairFor(alg: JwtAlgorithm, rsaBits = 2048): Pair {
  if (alg.startsWith('HS')) {
    const secret = randomBytes(Number(alg.slice(2)) / 8)
    return { alg, signWith: secret, jwk: { kty: 'oct', k: secret.toString('base64url') } }
  }
  const pair =
    alg.startsWith('RS') || alg.startsWith('PS')
      ? generateKeyPairSync('rsa', { modulusLength: rsaBits })
      : alg.startsWith('ES')
        ? generateKeyPairSync('ec', { namedCurve: CURVES[alg]! })
        : generateKeyPairSync('ed25519')
  return { alg, signWith: pair.privateKey, jwk: pair.publicKey.export({ format: 'jwk' }) as JWK }
}

const sign = (pair: Pair, claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}) =>
  new SignJWT({ iss: ISS, aud: AUD, sub: 'alice', iat: now(), exp: now() + 600, ...claims })
    .setProtectedHeader({ alg: pair.alg, ...header })
    .sign(pair.signWith)

type Outcome = { payload: unknown } | { reason: string }

/** What `verifyWithKeys` answers (the `node:crypto` path for the algorithms of NODE_ALGORITHMS). */
async function ours(token: string, jwk: JWK, alg: JwtAlgorithm, options = OPTIONS): Promise<Outcome> {
  try {
    return { payload: await verifyWithKeys(token, [verificationKey(jwk)], alg, options) }
  } catch (err) {
    return { reason: reasonOf(err) }
  }
}

/** What jose's `jwtVerify` answers with the key jose imported itself: the reference. */
async function reference(token: string, jwk: JWK, alg: JwtAlgorithm, options = OPTIONS): Promise<Outcome> {
  let key: Awaited<ReturnType<typeof importJWK>>
  try {
    key = await importJWK({ ...jwk, ext: true }, alg)
  } catch (err) {
    return { reason: reasonOf(new UnusableKey(err)) }
  }
  try {
    return { payload: (await jwtVerify(token, key, { ...options, algorithms: [alg] })).payload }
  } catch (err) {
    return { reason: reasonOf(err instanceof errors.JOSEError ? err : new UnusableKey(err)) }
  }
}

async function expectSame(token: string, jwk: JWK, alg: JwtAlgorithm, options = OPTIONS): Promise<Outcome> {
  const expected = await reference(token, jwk, alg, options)
  expect(await ours(token, jwk, alg, options), token).toEqual(expected)
  return expected
}

/** A deterministic stream of numbers, so a failing mutation can be replayed. */
function seeded(seed: number): () => number {
  let state = seed
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648
    return state / 2_147_483_648
  }
}

const ALGORITHMS: JwtAlgorithm[] = [
  'HS256',
  'HS384',
  'HS512',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'EdDSA',
]
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

describe.each(ALGORITHMS)('signature checks of %s agree with jose', (alg) => {
  const pair = pairFor(alg)

  it('accepts a valid token with the same payload', async () => {
    const token = await sign(pair, { scope: 'a b' }, { kid: 'k1', typ: 'at+jwt' })
    const outcome = await expectSame(token, pair.jwk, alg)
    expect(outcome).toMatchObject({ payload: { sub: 'alice', scope: 'a b' } })
    await expectSame(token, pair.jwk, alg, { ...OPTIONS, typ: 'at+jwt' })
    await expectSame(token, pair.jwk, alg, { ...OPTIONS, typ: 'JWT' })
  })

  it('refuses a changed payload, a changed header and a changed or cut signature', async () => {
    const token = await sign(pair)
    const [h, p, s] = token.split('.') as [string, string, string]
    const forgedPayload = segment({ iss: ISS, aud: AUD, sub: 'admin', exp: now() + 600 })
    const cases = [
      `${h}.${forgedPayload}.${s}`,
      `${segment({ alg, kid: 'other' })}.${p}.${s}`,
      `${h}.${p}.${s.slice(0, -2)}`,
      `${h}.${p}.${s}AA`,
      `${h}.${p}.`,
      `${h}.${p}.${s.slice(0, 10)}+/${s.slice(12)}`,
    ]
    for (const forged of cases) expect(await expectSame(forged, pair.jwk, alg)).toHaveProperty('reason')
    // jose reads standard base64 as well: the same signature bytes, so both accept it.
    await expectSame(`${h}.${p}.${Buffer.from(s, 'base64url').toString('base64')}`, pair.jwk, alg)
  })

  it('refuses malformed segments exactly as jose does', async () => {
    const token = await sign(pair)
    const [h, p, s] = token.split('.') as [string, string, string]
    for (const malformed of [
      `${h}.${p}`,
      `${h}.${p}.${s}.x`,
      `.${p}.${s}`,
      `${h}..${s}`,
      `${segment('string')}.${p}.${s}`,
      `${h}.${segment([1, 2])}.${s}`,
      `${h}.${Buffer.from('{not json').toString('base64url')}.${s}`,
    ]) {
      expect(await expectSame(malformed, pair.jwk, alg)).toHaveProperty('reason')
    }
    // Spellings jose tolerates (padding, white space) decide the same on both paths.
    for (const odd of [`${h}.${p}=.${s}`, `${h}.${p}.${s}\n`, `${h}.${p}.${s}=`]) {
      await expectSame(odd, pair.jwk, alg)
    }
  })

  it('refuses a token whose header names another algorithm, alg none included', async () => {
    const token = await sign(pair)
    const [, p, s] = token.split('.') as [string, string, string]
    for (const other of ['none', 'HS256', 'RS256', 'ES256'].filter((a) => a !== alg)) {
      expect(await expectSame(`${segment({ alg: other })}.${p}.${s}`, pair.jwk, alg)).toHaveProperty('reason')
    }
    expect(await expectSame(`${segment({ alg: 'none' })}.${p}.`, pair.jwk, alg)).toHaveProperty('reason')
  })

  it('gives the same refusal for every claim failure', async () => {
    for (const claims of [
      { exp: now() - 600 },
      { nbf: now() + 600 },
      { iss: 'https://other.example/' },
      { aud: 'other' },
      { sub: undefined },
      { exp: 'soon' },
    ]) {
      const outcome = await expectSame(await sign(pair, claims), pair.jwk, alg)
      expect(outcome).toHaveProperty('reason')
    }
    const old = await sign(pair, { iat: now() - 3600 })
    expect(await expectSame(old, pair.jwk, alg, { ...OPTIONS, maxTokenAge: 60 })).toEqual({
      reason: 'too_old',
    })
  })

  it('agrees with jose on 300 random single-character mutations', async () => {
    const token = await sign(pair)
    const random = seeded(alg.length * 7919 + alg.charCodeAt(1))
    for (let i = 0; i < 300; i++) {
      const at = Math.floor(random() * token.length)
      if (token[at] === '.') continue
      const replacement = B64URL[Math.floor(random() * B64URL.length)]!
      await expectSame(token.slice(0, at) + replacement + token.slice(at + 1), pair.jwk, alg)
    }
  })
})

describe('keys that do not fit', () => {
  it('refuses a key of another type for the algorithm, as jose does', async () => {
    const rsa = pairFor('RS256')
    const ec = pairFor('ES256')
    const hs = pairFor('HS256')
    const rsToken = await sign(rsa)
    expect(await expectSame(rsToken, ec.jwk, 'RS256')).toEqual({ reason: 'misconfigured' })
    expect(await expectSame(await sign(hs), rsa.jwk, 'HS256')).toEqual({ reason: 'misconfigured' })
  })

  it('refuses an HMAC token signed with the RSA public key as its secret (algorithm confusion)', async () => {
    const rsa = pairFor('RS256')
    const pem = Buffer.from(
      (await importJWK({ ...rsa.jwk, ext: true }, 'RS256').then(() => rsa.jwk.n)) as string,
      'base64url',
    )
    const confused = await new SignJWT({ iss: ISS, aud: AUD, sub: 'admin', exp: now() + 600 })
      .setProtectedHeader({ alg: 'HS256' })
      .sign(pem)
    expect(await expectSame(confused, rsa.jwk, 'HS256')).toHaveProperty('reason')
    expect(await expectSame(confused, rsa.jwk, 'RS256')).toHaveProperty('reason')
  })

  it('refuses an RSA key under 2048 bits as misconfigured on both paths', async () => {
    const weak = pairFor('RS256', 1024)
    const input = `${segment({ alg: 'RS256' })}.${segment({ iss: ISS, aud: AUD, sub: 'a', exp: now() + 60 })}`
    const signature = createSign('RSA-SHA256')
      .update(input)
      .sign(weak.signWith as KeyObject)
    const token = `${input}.${signature.toString('base64url')}`
    expect(await expectSame(token, weak.jwk, 'RS256')).toEqual({ reason: 'misconfigured' })
  })

  it('tries the next key after a failed signature, on the node path too', async () => {
    const a = pairFor('RS256')
    const b = pairFor('RS256')
    const token = await sign(b)
    const payload = await verifyWithKeys(
      token,
      [verificationKey(a.jwk), verificationKey(b.jwk)],
      'RS256',
      OPTIONS,
    )
    expect(payload.sub).toBe('alice')
  })
})

describe('NODE_ALGORITHMS', () => {
  it('holds the HMAC and RSA algorithms, and leaves ES256 and EdDSA to jose', () => {
    expect([...NODE_ALGORITHMS].sort()).toEqual(
      ['HS256', 'HS384', 'HS512', 'PS256', 'PS384', 'PS512', 'RS256', 'RS384', 'RS512'].sort(),
    )
  })
})
