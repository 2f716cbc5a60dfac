import { createPrivateKey, KeyObject, randomUUID, type webcrypto } from 'node:crypto'
import { type JWK, SignJWT } from 'jose'
import type { JwtAlgorithm } from './algorithms.js'

/** `client_secret_basic` (RFC 6749 section 2.3.1): the client ID and secret in an `Authorization: Basic` header. */
export interface ClientSecretBasic {
  method: 'client_secret_basic'
  /** The client secret the authorization server issued to this resource server. */
  clientSecret: string
}

/** `client_secret_post` (RFC 6749 section 2.3.1): the client ID and secret as form parameters. */
export interface ClientSecretPost {
  method: 'client_secret_post'
  /** The client secret the authorization server issued to this resource server. */
  clientSecret: string
}

/**
 * `private_key_jwt` (OpenID Connect Core section 9, RFC 7523 section 2.2): a short-lived JWT
 * signed with the client's private key, whose public key the authorization server holds. No
 * shared secret travels or sits on the server.
 */
export interface PrivateKeyJwt {
  method: 'private_key_jwt'
  /** The private key: PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`), a private `KeyObject`, `CryptoKey` or JWK. */
  privateKey: string | KeyObject | webcrypto.CryptoKey | JWK
  /**
   * The signing algorithm. Default: the key's (`RS256` for RSA, `PS256` for RSA-PSS, `ES256`,
   * `ES384` or `ES512` by curve, `EdDSA` for Ed25519).
   */
  algorithm?: Exclude<JwtAlgorithm, 'HS256' | 'HS384' | 'HS512' | 'Ed25519'>
  /** The `kid` header, to tell the server which of the client's keys signed. Default: the JWK's `kid`, else none. */
  keyId?: string
  /**
   * The assertion's `aud`: `'issuer'` (the issuer identifier, what RFC 7523bis and FAPI 2.0
   * require) or `'endpoint'` (the introspection endpoint's URL, what some older servers want).
   * Default `'issuer'`.
   */
  audience?: 'issuer' | 'endpoint'
}

/** How the resource server authenticates to the introspection endpoint (RFC 7662 section 2.1). */
export type ClientAuthentication = ClientSecretBasic | ClientSecretPost | PrivateKeyJwt

/** Adds the client's credentials to one request to `endpoint`. */
export type ApplyClientAuthentication = (
  endpoint: URL,
  form: URLSearchParams,
  headers: Record<string, string>,
) => void | Promise<void>

const METHODS = ['client_secret_basic', 'client_secret_post', 'private_key_jwt'] as const

/** RFC 6749 appendix B: `application/x-www-form-urlencoded` encoding, which Basic credentials use too. */
function formEncode(value: string): string {
  return new URLSearchParams([['', value]]).toString().slice(1)
}

const CURVES: Readonly<Record<string, PrivateKeyJwt['algorithm']>> = {
  prime256v1: 'ES256',
  secp384r1: 'ES384',
  secp521r1: 'ES512',
}

/** The algorithm a private key signs with by default, `undefined` for a key no algorithm fits. */
function algorithmOf(key: KeyObject): PrivateKeyJwt['algorithm'] | undefined {
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return 'RS256'
    case 'rsa-pss':
      return 'PS256'
    case 'ec':
      return CURVES[key.asymmetricKeyDetails?.namedCurve ?? '']
    case 'ed25519':
      return 'EdDSA'
    default:
      return undefined
  }
}

function privateKeyOf(input: PrivateKeyJwt['privateKey'], where: string): KeyObject {
  let key: KeyObject
  try {
    if (input instanceof KeyObject) key = input
    else if (Object.prototype.toString.call(input) === '[object CryptoKey]') {
      key = KeyObject.from(input as webcrypto.CryptoKey)
    } else if (typeof input === 'string') key = createPrivateKey(input)
    else key = createPrivateKey({ key: input as Record<string, unknown>, format: 'jwk' } as never)
  } catch (err) {
    throw new TypeError(
      `${where}: clientAuthentication.privateKey could not be read (${err instanceof Error ? err.message : String(err)}). Pass a PKCS#8 PEM, a private KeyObject, CryptoKey or JWK.`,
    )
  }
  if (key.type !== 'private') {
    throw new TypeError(
      `${where}: clientAuthentication.privateKey is a ${key.type} key; private_key_jwt signs with the private key.`,
    )
  }
  const bits = key.asymmetricKeyDetails?.modulusLength
  if (bits !== undefined && bits < 2048) {
    throw new TypeError(
      `${where}: clientAuthentication.privateKey is a ${bits}-bit RSA key; use at least 2048 bits.`,
    )
  }
  return key
}

function secretOf(auth: ClientSecretBasic | ClientSecretPost, where: string): string {
  if (typeof auth.clientSecret !== 'string' || auth.clientSecret === '') {
    throw new TypeError(
      `${where}: clientAuthentication.clientSecret is the client secret your authorization server issued (a non-empty string).`,
    )
  }
  return auth.clientSecret
}

/**
 * Checks the client authentication options once, at build time, and returns what adds the
 * credentials to each request. `private_key_jwt` signs a fresh assertion for every request
 * (`jti` random, valid 60 seconds), so an intercepted one cannot be replayed for long.
 */
export function clientAuthentication(
  auth: ClientAuthentication,
  clientId: string,
  issuer: string,
  where: string,
): ApplyClientAuthentication {
  if (auth === null || typeof auth !== 'object' || !METHODS.includes(auth.method)) {
    throw new TypeError(
      `${where}: clientAuthentication is { method: 'client_secret_basic' | 'client_secret_post', clientSecret } or { method: 'private_key_jwt', privateKey }.`,
    )
  }
  for (const name of Object.keys(auth)) {
    const known =
      auth.method === 'private_key_jwt'
        ? ['method', 'privateKey', 'algorithm', 'keyId', 'audience']
        : ['method', 'clientSecret']
    if (!known.includes(name)) {
      throw new TypeError(
        `${where}: unknown option "clientAuthentication.${name}" for ${auth.method}. Known options: ${known.join(', ')}.`,
      )
    }
  }
  if (auth.method === 'client_secret_basic') {
    const basic = `Basic ${Buffer.from(`${formEncode(clientId)}:${formEncode(secretOf(auth, where))}`).toString('base64')}`
    return (_endpoint, _form, headers) => {
      headers.authorization = basic
    }
  }
  if (auth.method === 'client_secret_post') {
    const secret = secretOf(auth, where)
    return (_endpoint, form) => {
      form.set('client_id', clientId)
      form.set('client_secret', secret)
    }
  }
  const key = privateKeyOf(auth.privateKey, where)
  const algorithm = auth.algorithm ?? algorithmOf(key)
  if (algorithm === undefined) {
    throw new TypeError(
      `${where}: clientAuthentication.privateKey is of no type private_key_jwt signs with; use an RSA, EC (P-256/384/521) or Ed25519 key.`,
    )
  }
  if (auth.audience !== undefined && auth.audience !== 'issuer' && auth.audience !== 'endpoint') {
    throw new TypeError(`${where}: clientAuthentication.audience is 'issuer' (default) or 'endpoint'.`)
  }
  const jwkKid =
    typeof auth.privateKey === 'object' && 'kty' in auth.privateKey ? auth.privateKey.kid : undefined
  const kid = auth.keyId ?? jwkKid
  const toEndpoint = auth.audience === 'endpoint'
  return async (endpoint, form) => {
    const now = Math.floor(Date.now() / 1000)
    const assertion = await new SignJWT({ jti: randomUUID() })
      .setProtectedHeader(kid === undefined ? { alg: algorithm } : { alg: algorithm, kid })
      .setIssuer(clientId)
      .setSubject(clientId)
      .setAudience(toEndpoint ? endpoint.href : issuer)
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + 60)
      .sign(key)
    form.set('client_id', clientId)
    form.set('client_assertion_type', 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer')
    form.set('client_assertion', assertion)
  }
}
