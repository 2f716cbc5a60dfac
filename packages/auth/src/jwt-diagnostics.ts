import { warnOnce } from '@apiward/core'
import type { TokenFailureReason } from './errors.js'

/**
 * A refusal that points at the configuration rather than at the token: the same cause refuses
 * every token until the options (or the identity provider) are fixed. Given to the `logger` of
 * `jwt()` once per reason, with what was expected and what the token carried; never the token.
 */
export interface JwtDiagnostic {
  /** Stable, e.g. `APIWARD_JWT_ISSUER_NOT_ALLOWED`. */
  readonly code: string
  /** The `auth.failure` reason it explains. */
  readonly reason: TokenFailureReason
  /** One line: what happened, expected and received values, and what to check. */
  readonly message: string
  /** What the guard expected (the configured issuers, audiences, algorithms...), JSON. */
  readonly expected?: string
  /** What the refused token carried (its `iss`, `aud`, `alg`, `kid`...), JSON, cut at 200 characters. */
  readonly received?: string
  /** The page and anchor below the docs folder that explains it. */
  readonly docs: string
}

/** Receives each {@link JwtDiagnostic} of a `jwt()` guard once per reason. */
export type JwtLogger = (diagnostic: JwtDiagnostic) => void

/** Expected and received values of one refusal. */
export interface RefusalDetail {
  readonly expected?: unknown
  readonly received?: unknown
  /** More about the cause (the last JWKS fetch failure, the resolver's error). */
  readonly cause?: string
}

const DIAGNOSED: Partial<Record<TokenFailureReason, { code: string; what: string; check: string }>> = {
  issuer_not_allowed: {
    code: 'APIWARD_JWT_ISSUER_NOT_ALLOWED',
    what: 'the token issuer (iss) is not an accepted issuer',
    check: 'issuer (compared character for character, trailing slash included)',
  },
  audience_not_allowed: {
    code: 'APIWARD_JWT_AUDIENCE_NOT_ALLOWED',
    what: 'the token audience (aud) is not this API',
    check: 'audience (the identifier your identity provider puts in aud for this API)',
  },
  algorithm_not_allowed: {
    code: 'APIWARD_JWT_ALGORITHM_NOT_ALLOWED',
    what: 'the token algorithm (alg) is not allowed for the configured keys',
    check: 'algorithms, and that the keys are the ones the issuer signs with',
  },
  keys_unavailable: {
    code: 'APIWARD_JWT_KEYS_UNAVAILABLE',
    what: 'the keys of the issuer could not be loaded',
    check: 'jwksUri (or the issuer metadata with discovery) and that this host can reach it',
  },
  unknown_key: {
    code: 'APIWARD_JWT_UNKNOWN_KEY',
    what: 'no configured key has the token key id (kid)',
    check: 'that the keys (jwksUri, jwks, publicKey) belong to the issuer of these tokens',
  },
  wrong_type: {
    code: 'APIWARD_JWT_WRONG_TYPE',
    what: 'the token type header (typ) is not the required one',
    check: 'typ (RFC 9068 access tokens carry at+jwt)',
  },
  misconfigured: {
    code: 'APIWARD_JWT_MISCONFIGURED',
    what: 'the keys configured for the token issuer cannot be used',
    check: 'the key options (an issuers resolver answer, a JWK that cannot be imported)',
  },
}

/** Whether a refusal reason points at the configuration, so it is diagnosed. */
export function isDiagnosed(reason: TokenFailureReason): boolean {
  return DIAGNOSED[reason] !== undefined
}

/** A value for a log line: JSON, cut at 200 characters, so a token cannot flood the log. */
function shown(value: unknown): string | undefined {
  if (value === undefined) return undefined
  let text: string
  try {
    text = JSON.stringify(value) ?? String(value)
  } catch {
    text = String(value)
  }
  return text.length > 200 ? `${text.slice(0, 200)}...` : text
}

/** A hint for the classic issuer mistake: the same URL but for a trailing slash. */
function trailingSlashHint(expected: unknown, received: unknown): string {
  if (typeof received !== 'string' || !Array.isArray(expected)) return ''
  const bare = received.replace(/\/$/, '')
  return expected.some((e) => typeof e === 'string' && e !== received && e.replace(/\/$/, '') === bare)
    ? ' The two differ only by a trailing slash.'
    : ''
}

/**
 * The diagnostics of one guard: `logger` receives each reason once (default: core's
 * `warnOnce`, one line once per process and code, routed by `configureWarnings()`); `false`
 * keeps them off.
 */
export function jwtDiagnostics(
  logger: JwtLogger | false | undefined,
): (reason: TokenFailureReason, detail: RefusalDetail | undefined) => void {
  if (logger === false) return () => {}
  const given = new Set<TokenFailureReason>()
  return (reason, detail) => {
    const known = DIAGNOSED[reason]
    if (known === undefined || given.has(reason)) return
    given.add(reason)
    const expected = shown(detail?.expected)
    const received = shown(detail?.received)
    const message = `jwt(): tokens are refused because ${known.what}${expected === undefined ? '' : `: expected ${expected}`}${received === undefined ? '' : `, received ${received}`}.${trailingSlashHint(detail?.expected, detail?.received)}${detail?.cause === undefined ? '' : ` Cause: ${detail.cause}.`} Check ${known.check}.`
    const docs = 'auth.md#diagnostics'
    if (logger === undefined) {
      warnOnce(known.code, message, docs)
      return
    }
    try {
      logger({ code: known.code, reason, message, expected, received, docs })
    } catch {
      warnOnce(known.code, message, docs)
    }
  }
}
