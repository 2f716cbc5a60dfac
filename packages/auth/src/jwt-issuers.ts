import type { SecurityContext } from '@apiward/core'
import { ApiError, ServiceUnavailable } from '@apiward/errors'
import type { JwtAlgorithm } from './algorithms.js'
import { BoundedMap } from './bounded-map.js'
import { isThenable, misread, reportCallbackError } from './callback.js'
import { checkIssuerIdentifier, DiscoveredJwks, issuerMetadata } from './discovery.js'
import { RemoteJwks } from './jwks-remote.js'
import type { JwtKeyOptions, JwtOptions } from './jwt-options.js'
import { jwksKeySource, type KeySource, publicKeySource, secretKeySource } from './key-source.js'
import { checkRemoteUrl, type RemoteReport, type RemoteSettings, remoteSettings } from './remote.js'

/** The keys of the token's issuer; a promise while an asynchronous resolver is asked. */
export type SourceFor = (
  iss: unknown,
  ctx: SecurityContext,
) => KeySource | undefined | Promise<KeySource | undefined>

/** Where `jwt()` finds the keys of a token: one source, or one per issuer. */
export interface JwtKeys {
  /** The one source of keys, when they were given once (not per issuer). */
  readonly single: KeySource | undefined
  /** The source of the token's `iss`, with `issuers`. */
  readonly sourceFor: SourceFor | undefined
  /** The sources known at build time, which `ready()` loads. */
  readonly sources: readonly KeySource[]
  /** The names of an `issuers` map, the accepted `iss` values when `issuer` is absent. */
  readonly issuerNames: string[] | undefined
  /** Whether an `issuers` resolver decides which issuers are accepted. */
  readonly dynamic: boolean
}

/** Issuers an `issuers` resolver's answers are remembered for, at most. */
export const MAX_RESOLVED_ISSUERS = 1000

function keyOptionsCount(o: JwtKeyOptions): number {
  return (
    Number(o.jwksUri !== undefined) +
    Number(o.jwks !== undefined) +
    Number(o.publicKey !== undefined) +
    Number(o.secret !== undefined) +
    Number(o.discovery !== undefined && o.discovery !== false)
  )
}

/**
 * The 503 of a dependency lookup (`isRevoked`, a revocation store, an issuer resolver) that
 * threw or rejected: it says nothing about the token, so the token is neither accepted nor
 * refused as invalid. The error goes to `auth.error` and stays the `cause`, never sent. An
 * `ApiError` the callback threw on purpose is answered as it is.
 */
export function unavailable(ctx: SecurityContext, callback: string, err: unknown): ApiError {
  if (ApiError.is(err)) return err
  reportCallbackError(ctx, { code: 'auth.unavailable', credential: 'jwt', callback }, err)
  return new ServiceUnavailable({
    code: 'auth.unavailable',
    detail: 'The access token cannot be checked right now. Retry later.',
    retryAfter: 1,
    cause: err,
  })
}

/** The stand-in for an issuer whose resolver answered unusable key options: no key, and why. */
function misconfiguredSource(why: string): KeySource {
  return { algorithms: [], misconfigured: why, candidates: () => [] }
}

/** Builds the key source of one set of key options; a `TypeError` names what is wrong. */
type BuildSource = (keys: JwtKeyOptions, where: string, issuer: string | undefined) => KeySource

function sourceBuilder(
  options: JwtOptions,
  explicitAlgorithms: readonly JwtAlgorithm[] | undefined,
  report: RemoteReport,
): BuildSource {
  const http = { allowed: options.dangerouslyAllowHttpJwks === true, option: 'dangerouslyAllowHttpJwks' }
  let remote: RemoteSettings | undefined
  const settings = () => {
    remote ??= remoteSettings(options.jwksOptions, 'jwt(): jwksOptions')
    return remote
  }
  const remoteJwks = (url: URL) => new RemoteJwks(url, settings(), report)
  return (keys, where, issuer) => {
    const count = keyOptionsCount(keys)
    if (count !== 1) {
      throw new TypeError(
        `jwt(): ${where} needs exactly one of jwksUri, jwks, publicKey, secret or discovery: true (got ${count === 0 ? 'none' : count}).`,
      )
    }
    if (keys.secret !== undefined) return secretKeySource(keys.secret, explicitAlgorithms ?? ['HS256'])
    if (explicitAlgorithms?.some((alg) => alg.startsWith('HS'))) {
      throw new TypeError(
        `jwt(): ${where}: HS* algorithms need a shared secret; with public keys a token signed with HS256 and the public key as secret would pass. Remove HS* from algorithms.`,
      )
    }
    if (keys.publicKey !== undefined) return publicKeySource(keys.publicKey)
    if (keys.jwks !== undefined) return jwksKeySource(keys.jwks)
    if (keys.jwksUri !== undefined) return remoteJwks(checkRemoteUrl(keys.jwksUri, 'jwt()', 'jwksUri', http))
    if (keys.discovery !== true) {
      throw new TypeError(
        `jwt(): ${where}: discovery is true (find the keys in the issuer's metadata) or absent.`,
      )
    }
    if (issuer === undefined) {
      throw new TypeError(
        'jwt(): discovery needs the one issuer whose metadata to read: set issuer to a single string, e.g. "https://id.example.com/".',
      )
    }
    const url = checkIssuerIdentifier(issuer, 'jwt()', http)
    const metadata = issuerMetadata(url, issuer, ['jwks_uri'], settings(), report, http.allowed)
    return new DiscoveredJwks(metadata, issuer, remoteJwks)
  }
}

/**
 * Wraps an `issuers` resolver: each issuer is asked once and its answer cached (at most
 * {@link MAX_RESOLVED_ISSUERS}, evicted as {@link BoundedMap} says); requests for an issuer being resolved wait on the same promise;
 * a failure is not cached, so the next token asks again.
 */
export function issuerResolver(resolve: (issuer: string) => unknown, buildSource: BuildSource): SourceFor {
  // `null` remembers an issuer the resolver refused, so a flood of its tokens asks once.
  const resolved = new BoundedMap<string, KeySource | null>(MAX_RESOLVED_ISSUERS)
  const inFlight = new Map<string, Promise<KeySource | undefined>>()
  const remember = (iss: string, source: KeySource | undefined): KeySource | undefined => {
    resolved.set(iss, source ?? null)
    return source
  }
  const sourceOf = (ctx: SecurityContext, iss: string, answer: unknown): KeySource | undefined => {
    if (answer === undefined) return undefined
    try {
      if (answer === null || typeof answer !== 'object')
        throw misread('issuers', answer, 'key options or undefined')
      return buildSource(answer as JwtKeyOptions, `issuers("${iss}")`, iss)
    } catch (err) {
      // The resolver's own mistake: every token of this issuer is refused as a configuration error.
      reportCallbackError(ctx, { code: 'auth.invalid_token', credential: 'jwt', callback: 'issuers' }, err)
      return misconfiguredSource(err instanceof Error ? err.message : String(err))
    }
  }
  return (iss, ctx) => {
    if (typeof iss !== 'string' || iss.length > 512) return undefined
    const known = resolved.get(iss)
    if (known !== undefined) return known ?? undefined
    const joined = inFlight.get(iss)
    if (joined !== undefined) {
      return joined.catch((err: unknown) => {
        throw unavailable(ctx, 'issuers', err)
      })
    }
    let answer: unknown
    try {
      answer = resolve(iss)
    } catch (err) {
      throw unavailable(ctx, 'issuers', err)
    }
    if (!isThenable(answer)) return remember(iss, sourceOf(ctx, iss, answer))
    const pending = Promise.resolve(answer).then((settled) => remember(iss, sourceOf(ctx, iss, settled)))
    inFlight.set(iss, pending)
    const done = () => inFlight.delete(iss)
    pending.then(done, done)
    return pending.catch((err: unknown) => {
      throw unavailable(ctx, 'issuers', err)
    })
  }
}

/** Reads the key options of {@link jwt}: once, or per issuer. */
export function jwtKeys(
  options: JwtOptions,
  explicitAlgorithms: readonly JwtAlgorithm[] | undefined,
  report: RemoteReport,
): JwtKeys {
  const buildSource = sourceBuilder(options, explicitAlgorithms, report)
  const { issuers } = options
  if (issuers === undefined) {
    if (keyOptionsCount(options) === 0) {
      throw new TypeError(
        "jwt(): say where the keys are: jwksUri (your identity provider's JWKS URL), discovery: true (read it from the issuer's metadata), jwks, publicKey or secret.",
      )
    }
    const single = buildSource(
      options,
      'options',
      typeof options.issuer === 'string' ? options.issuer : undefined,
    )
    return { single, sourceFor: undefined, sources: [single], issuerNames: undefined, dynamic: false }
  }
  if (keyOptionsCount(options) > 0) {
    throw new TypeError(
      'jwt(): give keys either per issuer in `issuers` or once (jwksUri/jwks/publicKey/secret), not both.',
    )
  }
  if (typeof issuers === 'function') {
    const sourceFor = issuerResolver(issuers, buildSource)
    return { single: undefined, sourceFor, sources: [], issuerNames: undefined, dynamic: true }
  }
  const names = Object.keys(issuers)
  if (names.length === 0)
    throw new TypeError('jwt(): issuers is empty; list at least one issuer and its keys.')
  const resolved = new Map<string, KeySource>()
  for (const name of names) resolved.set(name, buildSource(issuers[name]!, `issuers["${name}"]`, name))
  return {
    single: undefined,
    sourceFor: (iss) => (typeof iss === 'string' ? resolved.get(iss) : undefined),
    sources: [...resolved.values()],
    issuerNames: names,
    dynamic: false,
  }
}
