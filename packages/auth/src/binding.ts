import {
  booleanOption,
  checkOptions,
  type KnownOptions,
  type SecurityContext,
  type SecurityRequest,
} from '@apiward/core'
import { type ApiError, ServiceUnavailable, Unauthorized } from '@apiward/errors'
import type { BearerSettings } from './bearer.js'
import { isB64Token } from './bearer.js'
import { type DpopPolicy, type DpopVerifier, dpopVerifierOf } from './dpop.js'
import {
  type DpopFailureReason,
  normalizeHtu,
  type ProofCheck,
  ProofError,
  type VerifiedProof,
  verifyProof,
} from './dpop-proof.js'
import type { TokenFailureReason } from './errors.js'
import { kClientCertificate } from './mtls.js'
import { type CertificateSource, certificateSource, presentedCertificate } from './mtls-certificate.js'

/** Why a certificate-bound token was refused (RFC 8705 section 3). Sent to security events only. */
export type CertificateBindingFailureReason =
  | 'missing_certificate'
  | 'certificate_mismatch'
  | 'not_certificate_bound'

/** The `certificateBinding` option of `jwt()` and `introspection()` (RFC 8705 section 3). */
export interface CertificateBindingOptions {
  /**
   * Whether every token must be certificate-bound (`cnf["x5t#S256"]`). Default `false`. Without
   * this option a token that is bound is still checked: its certificate must be the one the
   * request presented.
   */
  required?: boolean
  /**
   * The header a trusted TLS-terminating proxy forwards the client certificate in, read under
   * the same rule as `mtls({ forwardedCertificateHeader })`: only from a peer the framework
   * trusts as a proxy. Default: none; the TLS connection's certificate, or the one an `mtls()`
   * guard before this one accepted.
   */
  forwardedCertificateHeader?: string
}

const CERTIFICATE_OPTIONS: KnownOptions<CertificateBindingOptions> = {
  required: true,
  forwardedCertificateHeader: true,
}

/** The options `jwt()` and `introspection()` take for sender-constrained tokens. */
export interface BindingOptions {
  /**
   * DPoP (RFC 9449): the policy of {@link dpop}. With it, `Authorization: DPoP <token>` is
   * accepted with its proof, and the token must be bound to the proof's key (`cnf.jkt`).
   * Without it, a DPoP-bound token is refused in every form. Default: none.
   */
  dpop?: DpopPolicy
  /**
   * Certificate-bound tokens (RFC 8705 section 3). A token with `cnf["x5t#S256"]` is always
   * checked against the client certificate of the request (a bound token without it, or with
   * another one, gets 401), with or without this option; it sets whether every token must be
   * bound and where a proxy forwards the certificate. Default: bound tokens checked, unbound
   * ones accepted.
   */
  certificateBinding?: CertificateBindingOptions
}

/** The binding rules of one guard, checked once at build time. */
export interface TokenBinding {
  /** The challenge to add to the guard's `Bearer` one, when DPoP is accepted. */
  readonly challenge: ((error: string | undefined) => string) | undefined
  /** The bearer settings with the `DPoP` scheme accepted too, when DPoP is on. */
  bearer(settings: BearerSettings): BearerSettings
  /**
   * Checks that the token's `cnf` binds it to what the request presented (its certificate, its
   * DPoP proof), last, once every other check passed. Returns a promise only for a DPoP proof.
   */
  check(ctx: SecurityContext, claims: Readonly<Record<string, unknown>>): void | Promise<void>
}

const DPOP_SCHEME = 'dpop '

/** The token of an `Authorization: DPoP <token>` header, `undefined` for any other header. */
function dpopToken(req: SecurityRequest): string | undefined {
  const value = req.header('authorization')
  if (value === undefined || value.length < DPOP_SCHEME.length) return undefined
  if (value.slice(0, DPOP_SCHEME.length).toLowerCase() !== DPOP_SCHEME) return undefined
  return value.slice(DPOP_SCHEME.length).trim()
}

function isDpopScheme(req: SecurityRequest): boolean {
  const value = req.header('authorization')
  return value !== undefined && /^dpop(\s|$)/i.test(value)
}

/**
 * Checks the binding options of `where` (`'jwt()'`, `'introspection()'`), for the guard's
 * `credential`.
 */
export function tokenBinding(
  options: BindingOptions,
  where: string,
  credential: 'jwt' | 'introspection',
): TokenBinding {
  let verifier: DpopVerifier | undefined
  if (options.dpop !== undefined) {
    verifier = dpopVerifierOf(options.dpop)
    if (verifier === undefined) {
      throw new TypeError(
        `${where}: dpop is the policy dpop({ origin }) builds, e.g. dpop: dpop({ origin: 'https://api.example.com' }).`,
      )
    }
  }
  const certOptions = options.certificateBinding ?? {}
  checkOptions<CertificateBindingOptions>(certOptions, `${where}: certificateBinding`, CERTIFICATE_OPTIONS)
  const certRequired = booleanOption(certOptions.required, 'certificateBinding.required', where, false)
  const source: CertificateSource = certificateSource(
    certOptions.forwardedCertificateHeader,
    `${where}: certificateBinding`,
  )
  const dpopRequired = options.dpop?.required === true

  let challenges: BearerSettings['challenges'] | undefined
  const algs = verifier?.algs
  const invalidProof = `DPoP algs="${algs}", error="invalid_dpop_proof"`
  const useNonce = 'DPoP error="use_dpop_nonce"'

  const refuseToken = (
    ctx: SecurityContext,
    reason: TokenFailureReason | DpopFailureReason | CertificateBindingFailureReason,
  ): ApiError => {
    ctx.emit('auth.failure', { severity: 'warn', code: 'auth.invalid_token', credential, reason })
    return challenges!.invalidToken()
  }

  const refuseProof = (ctx: SecurityContext, reason: DpopFailureReason): ApiError => {
    ctx.emit('auth.failure', { severity: 'warn', code: 'auth.invalid_dpop_proof', credential, reason })
    return new Unauthorized({
      code: 'auth.invalid_dpop_proof',
      detail: 'The DPoP proof is invalid.',
      headers: { 'WWW-Authenticate': invalidProof },
    })
  }

  const askNonce = (ctx: SecurityContext, reason: DpopFailureReason, nonce: string): ApiError => {
    ctx.emit('auth.failure', { severity: 'info', code: 'auth.use_dpop_nonce', credential, reason })
    return new Unauthorized({
      code: 'auth.use_dpop_nonce',
      detail: 'The DPoP proof must carry the nonce in the DPoP-Nonce header.',
      headers: { 'WWW-Authenticate': useNonce, 'DPoP-Nonce': nonce, 'Cache-Control': 'no-store' },
    })
  }

  const checkCertificate = (ctx: SecurityContext, x5t: unknown): void => {
    if (x5t === undefined) {
      if (certRequired) throw refuseToken(ctx, 'not_certificate_bound')
      return
    }
    const accepted = ctx.get(kClientCertificate)
    const cert = accepted ?? presentedCertificate(ctx, source)
    if (cert === undefined || cert === 'unreadable') throw refuseToken(ctx, 'missing_certificate')
    if (typeof x5t !== 'string' || x5t !== cert.thumbprint) throw refuseToken(ctx, 'certificate_mismatch')
  }

  const checkProof = async (ctx: SecurityContext, v: DpopVerifier, jkt: string): Promise<void> => {
    const req = ctx.req
    const proofs = req.headerValues('dpop')
    if (proofs === undefined || proofs.length === 0) throw refuseProof(ctx, 'missing_proof')
    if (proofs.length > 1) throw refuseProof(ctx, 'several_proofs')
    const proofText = proofs[0]!
    const check: ProofCheck = {
      method: req.method,
      uri: expectedUri(v, req.rawPath, proofText),
      algorithms: v.algorithms,
      maxAge: v.maxAge,
      clockTolerance: v.clockTolerance,
      maxLength: v.maxLength,
      normalize: normalizeHtu,
    }
    let proof: VerifiedProof
    try {
      proof = await verifyProof(proofText, dpopToken(req), check)
    } catch (err) {
      if (err instanceof ProofError) throw refuseProof(ctx, err.reason)
      throw err
    }
    if (proof.jkt !== jkt) throw refuseProof(ctx, 'key_not_bound')
    const nonces = v.nonces
    if (nonces !== undefined) {
      if (proof.nonce === undefined) throw askNonce(ctx, 'missing_nonce', nonces.current())
      if (!nonces.accepts(proof.nonce)) throw askNonce(ctx, 'stale_nonce', nonces.current())
    }
    let fresh: boolean
    try {
      fresh = await v.replay.use(`${proof.jkt}.${proof.jti}`, v.replayTtlMs)
    } catch (err) {
      ctx.emit('auth.error', {
        severity: 'error',
        code: v.failOpen ? 'auth.invalid_dpop_proof' : 'auth.dpop_replay_unavailable',
        credential,
        callback: 'dpop.replay.use',
        detail: err instanceof Error ? err.message : String(err),
        error: err,
      })
      if (!v.failOpen) {
        throw new ServiceUnavailable({
          code: 'auth.dpop_replay_unavailable',
          detail: 'DPoP proofs cannot be checked right now. Retry later.',
          retryAfter: 1,
          cause: err,
        })
      }
      fresh = true
    }
    if (fresh !== true) throw refuseProof(ctx, 'replayed')
    if (nonces !== undefined) {
      const current = nonces.current()
      if (proof.nonce !== current) ctx.setHeader('DPoP-Nonce', current)
    }
  }

  return {
    challenge:
      verifier === undefined
        ? undefined
        : (error) => `DPoP algs="${algs}"${error === undefined ? '' : `, error="${error}"`}`,
    bearer(settings) {
      challenges = settings.challenges
      if (verifier === undefined) return settings
      const bearerExtract = settings.extract
      const extract = Object.assign(
        (req: SecurityRequest): string | undefined => {
          const found = bearerExtract(req)
          if (!isDpopScheme(req)) return found
          if (found !== undefined)
            throw settings.challenges.invalidRequest('Send the access token in one place only.')
          if ((req.headerValues('authorization')?.length ?? 0) > 1) {
            throw settings.challenges.invalidRequest('Send exactly one Authorization header.')
          }
          const token = dpopToken(req)
          if (token === undefined || token === '' || !isB64Token(token)) {
            throw settings.challenges.invalidRequest('The DPoP access token is missing or malformed.')
          }
          return token
        },
        { present: (req: SecurityRequest) => isDpopScheme(req) || bearerExtract.present(req) },
      )
      return { ...settings, extract }
    },
    check(ctx, claims) {
      const cnf = claims.cnf as Record<string, unknown> | undefined
      const bound = cnf !== null && typeof cnf === 'object'
      checkCertificate(ctx, bound ? cnf['x5t#S256'] : undefined)
      const jkt = bound ? cnf.jkt : undefined
      if (verifier === undefined || !isDpopScheme(ctx.req)) {
        // RFC 9449 section 7.1: a DPoP-bound token is not a bearer token.
        if (jkt !== undefined) throw refuseToken(ctx, 'bound_token_as_bearer')
        if (dpopRequired) throw refuseToken(ctx, 'token_not_bound')
        return
      }
      if (typeof jkt !== 'string') throw refuseToken(ctx, 'token_not_bound')
      return checkProof(ctx, verifier, jkt)
    },
  }
}

/**
 * The URI a proof must name: the configured origin its `htu` names (or the first one), and the
 * path the client sent, normalised. Never the `Host` header, which the client writes.
 */
function expectedUri(v: DpopVerifier, rawPath: string, proof: string): string {
  let origin = v.origins[0]!
  if (v.origins.length > 1) {
    const htu = htuOf(proof)
    const named = htu === undefined ? undefined : normalizeHtu(htu)
    if (named !== undefined) origin = v.origins.find((o) => named.startsWith(`${o}/`)) ?? origin
  }
  // A path of only these characters is its own normal form (no dot segment, no percent-encoding).
  if (PLAIN_PATH.test(rawPath)) return origin + rawPath
  return normalizeHtu(origin + rawPath) ?? ''
}

const PLAIN_PATH = /^\/[A-Za-z0-9\-_~!$&'()*+,;=:@/]*$/

function htuOf(proof: string): string | undefined {
  const first = proof.indexOf('.')
  const second = proof.indexOf('.', first + 1)
  try {
    const payload = JSON.parse(Buffer.from(proof.slice(first + 1, second), 'base64url').toString('utf8'))
    return typeof payload?.htu === 'string' ? payload.htu : undefined
  } catch {
    return undefined
  }
}
