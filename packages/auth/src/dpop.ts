import { booleanOption, checkOptions, type KnownOptions } from '@apiward/core'
import { ASYMMETRIC_ALGORITHMS, type JwtAlgorithm } from './algorithms.js'
import { DpopNonces } from './dpop-nonce.js'
import { isProofAlgorithm, normalizeHtu } from './dpop-proof.js'
import { type DpopReplayStore, memoryDpopReplayStore } from './dpop-replay.js'

/** Options of {@link dpop}. */
export interface DpopOptions {
  /**
   * The public origin(s) of this API, as clients address it (`https://api.example.com`):
   * a proof's `htu` must be one of them plus the request's path (RFC 9449 section 4.3, both
   * normalised). Required, because the `Host` header is the client's to write: a proof made for
   * another server would pass if the expected URI came from it.
   */
  origin: string | readonly string[]
  /**
   * The JWS algorithms a proof may be signed with; asymmetric only (RFC 9449 section 4.2).
   * Default: every asymmetric algorithm of `jwt()` (RS*, PS*, ES*, EdDSA), named in the
   * `WWW-Authenticate: DPoP algs="..."` challenge.
   */
  algorithms?: readonly JwtAlgorithm[]
  /**
   * Where proof IDs (`jti`) are remembered, so each proof is accepted once (RFC 9449 section
   * 11.1). Default: {@link memoryDpopReplayStore}, right for one instance; with several, give
   * {@link redisDpopReplayStore} so a proof used on one instance is refused on every other.
   */
  replay?: DpopReplayStore
  /**
   * How old a proof may be, in seconds (its `iat`). Default `60`: a proof is made for one
   * request, and the window bounds both a stolen proof's use and the replay store's size.
   */
  maxProofAge?: number
  /** Seconds of clock skew allowed between the client and this server, either way. Default `5`. */
  clockTolerance?: number
  /**
   * Server nonces (RFC 9449 section 9): when set, a proof must carry a nonce this API issued,
   * else the answer is 401 `WWW-Authenticate: DPoP error="use_dpop_nonce"` with a fresh
   * `DPoP-Nonce`. A nonce is an HMAC of the time step under the first secret, so every instance
   * with the same secrets agrees without shared state; list the new secret first and the old
   * one second to rotate. Each at least 32 characters; read it from the environment. Default:
   * none, no nonce asked (proofs are then bounded by `maxProofAge` and the replay store).
   */
  nonceSecret?: string | readonly string[]
  /**
   * Seconds a nonce step lasts. Default `60`. A nonce of the current or the previous step is
   * accepted, so a nonce lives between one and two steps.
   */
  nonceStep?: number
  /**
   * Whether only DPoP-bound tokens are accepted: a token sent as `Bearer` is refused even when
   * it carries no `cnf.jkt`. Default `false`: plain bearer tokens still work, but a DPoP-bound
   * token sent as `Bearer` is always refused (RFC 9449 section 7.1).
   */
  required?: boolean
  /** The longest proof accepted, in characters. Default `4096`. */
  maxProofLength?: number
  /**
   * Accept a proof whose `jti` the replay store could not check (it threw, rejected or timed
   * out) instead of answering 503 `auth.dpop_replay_unavailable`. Default `false`: a replay
   * store that cannot answer would otherwise let a captured proof be used again.
   */
  dangerouslyAcceptProofsWhenReplayStoreFails?: boolean
}

const OPTIONS: KnownOptions<DpopOptions> = {
  origin: true,
  algorithms: true,
  replay: true,
  maxProofAge: true,
  clockTolerance: true,
  nonceSecret: true,
  nonceStep: true,
  required: true,
  maxProofLength: true,
  dangerouslyAcceptProofsWhenReplayStoreFails: true,
}

const MISTAKES: Readonly<Record<string, string>> = {
  htu: 'origin',
  publicOrigin: 'origin',
  baseUrl: 'origin',
  iatLeeway: 'clockTolerance',
  iatOffset: 'maxProofAge',
  replayStore: 'replay',
  nonce: 'nonceSecret',
  supportedAlgorithms: 'algorithms',
}

/**
 * A DPoP policy for `jwt({ dpop })` and `introspection({ dpop })`: built once from
 * {@link DpopOptions}; one policy may serve several guards, which then share its replay store.
 */
export interface DpopPolicy {
  /** The allowed proof algorithms. */
  readonly algorithms: readonly JwtAlgorithm[]
  /** Whether only DPoP-bound tokens are accepted. */
  readonly required: boolean
  /** The challenge of a 401 (`DPoP algs="ES256 PS256"`). */
  readonly challenge: string
  /** Whether proofs must carry a server nonce. */
  readonly nonces: boolean
}

/** What the guards use of a policy; kept off the public object. */
export interface DpopVerifier {
  readonly algorithms: ReadonlySet<string>
  readonly algs: string
  readonly origins: readonly string[]
  readonly replay: DpopReplayStore
  readonly replayTtlMs: number
  readonly maxAge: number
  readonly clockTolerance: number
  readonly maxLength: number
  readonly nonces: DpopNonces | undefined
  readonly failOpen: boolean
}

const verifiers = new WeakMap<DpopPolicy, DpopVerifier>()

/** The verifier of a policy made by {@link dpop}; `undefined` for any other value. */
export function dpopVerifierOf(policy: unknown): DpopVerifier | undefined {
  return typeof policy === 'object' && policy !== null ? verifiers.get(policy as DpopPolicy) : undefined
}

function seconds(value: unknown, name: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new TypeError(`dpop(): ${name} is a number of seconds from ${min} to ${max}.`)
  }
  return value
}

function originOf(value: unknown): string {
  const normal = typeof value === 'string' ? normalizeHtu(value) : undefined
  if (
    normal === undefined ||
    !/^https?:\/\/[^/]+\/$/.test(normal) ||
    !/^https?:\/\/[^/?#]+\/?$/i.test(value as string)
  ) {
    throw new TypeError(
      `dpop(): origin ${JSON.stringify(value)} is not an origin: give the scheme and host clients use, e.g. 'https://api.example.com' (no path, query or credentials).`,
    )
  }
  return normal.slice(0, -1)
}

/**
 * Demonstrating Proof of Possession (RFC 9449) for access tokens: give the result as the
 * `dpop` option of `jwt()` or `introspection()`. Requests then send `Authorization: DPoP
 * <token>` and a `DPoP` header with a proof JWT signed by the client's key; the guard checks
 * the proof (`typ`, an asymmetric `alg`, the public `jwk`, `htm`, `htu` against `origin`,
 * `iat`, `ath`), that the token's `cnf.jkt` is that key's thumbprint, the nonce when
 * `nonceSecret` is set, and that the proof's `jti` was never seen (the replay store). A
 * DPoP-bound token sent as `Bearer` is refused.
 *
 * @example
 * ```ts
 * const proofs = dpop({
 *   origin: 'https://api.example.com',
 *   replay: redisDpopReplayStore({ client: redis }),
 *   nonceSecret: process.env.DPOP_NONCE_SECRET,
 * })
 * app.use(guard(jwt({ jwksUri, issuer, audience, dpop: proofs })))
 * ```
 */
export function dpop(options: DpopOptions): DpopPolicy {
  checkOptions<DpopOptions>(
    options,
    'dpop()',
    OPTIONS,
    MISTAKES,
    "dpop({ origin: 'https://api.example.com' })",
  )
  if (options.origin === undefined) {
    throw new TypeError(
      "dpop(): origin is required: the public origin clients address, e.g. 'https://api.example.com'. It is never taken from the Host header, which the client writes.",
    )
  }
  const origins = (Array.isArray(options.origin) ? options.origin : [options.origin]).map(originOf)
  if (origins.length === 0) throw new TypeError('dpop(): origin lists at least one origin.')
  const algorithms = options.algorithms ?? ASYMMETRIC_ALGORITHMS
  if (!Array.isArray(algorithms) || algorithms.length === 0) {
    throw new TypeError('dpop(): algorithms lists at least one asymmetric algorithm, e.g. ["ES256"].')
  }
  for (const alg of algorithms) {
    if (!isProofAlgorithm(alg)) {
      throw new TypeError(
        `dpop(): algorithm ${JSON.stringify(alg)} cannot sign proofs: use asymmetric ones (${ASYMMETRIC_ALGORITHMS.join(', ')}); HS* and "none" never can.`,
      )
    }
  }
  const replay = options.replay ?? memoryDpopReplayStore()
  if (typeof replay !== 'object' || replay === null || typeof replay.use !== 'function') {
    throw new TypeError(
      'dpop(): replay is a replay store: memoryDpopReplayStore() or redisDpopReplayStore({ client }).',
    )
  }
  const maxAge = seconds(options.maxProofAge, 'maxProofAge', 60, 1, 3600)
  const clockTolerance = seconds(options.clockTolerance, 'clockTolerance', 5, 0, 300)
  const maxLength = options.maxProofLength ?? 4096
  if (!Number.isInteger(maxLength) || maxLength < 256 || maxLength > 65_536) {
    throw new TypeError('dpop(): maxProofLength is an integer number of characters from 256 to 65536.')
  }
  let nonces: DpopNonces | undefined
  if (options.nonceSecret !== undefined) {
    const secrets = Array.isArray(options.nonceSecret) ? options.nonceSecret : [options.nonceSecret]
    if (secrets.length === 0 || secrets.some((s) => typeof s !== 'string' || s.length < 32)) {
      throw new TypeError(
        'dpop(): nonceSecret is a secret of at least 32 characters (or a list: the current one first, the previous one second), e.g. from process.env.DPOP_NONCE_SECRET.',
      )
    }
    nonces = new DpopNonces(secrets, seconds(options.nonceStep, 'nonceStep', 60, 5, 3600))
  } else if (options.nonceStep !== undefined) {
    throw new TypeError('dpop(): nonceStep needs nonceSecret, which turns server nonces on.')
  }
  const required = booleanOption(options.required, 'required', 'dpop()', false)
  const failOpen = booleanOption(
    options.dangerouslyAcceptProofsWhenReplayStoreFails,
    'dangerouslyAcceptProofsWhenReplayStoreFails',
    'dpop()',
    false,
  )
  const algs = algorithms.join(' ')
  const policy: DpopPolicy = Object.freeze({
    algorithms: Object.freeze([...algorithms]),
    required,
    challenge: `DPoP algs="${algs}"`,
    nonces: nonces !== undefined,
  })
  verifiers.set(policy, {
    algorithms: new Set(algorithms),
    algs,
    origins,
    replay,
    // A proof is refused once older than the window, so its ID is kept as long as that.
    replayTtlMs: Math.ceil((maxAge + 2 * clockTolerance) * 1000),
    maxAge,
    clockTolerance,
    maxLength,
    nonces,
    failOpen,
  })
  return policy
}
