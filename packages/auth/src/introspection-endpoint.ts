import { errors } from 'jose'
import { isJwtAlgorithm, type JwtAlgorithm } from './algorithms.js'
import { isThenable } from './callback.js'
import type { ApplyClientAuthentication } from './client-auth.js'
import type { AuthorizationServerMetadata, IssuerMetadata } from './discovery.js'
import { decodeSegment, verifyWithKeys } from './jws.js'
import type { KeySource } from './key-source.js'
import { fetchBounded, jsonObjectOf, type RemoteError, type RemoteFailure } from './remote.js'

/**
 * Why an introspection could not be made, for the `auth.error` event: the token was not judged,
 * the request gets a 503.
 */
export type IntrospectionErrorReason =
  | RemoteFailure
  | 'client_auth_refused'
  | 'bad_response_signature'
  | 'metadata_unavailable'
  | 'keys_unavailable'
  /** A fault of this side (a key that cannot sign, say): a bug to fix, not an outage. */
  | 'unexpected'

/** An introspection that failed for a reason on the server's side or the way there. */
export class IntrospectionFailure extends Error {
  constructor(
    readonly reason: IntrospectionErrorReason,
    message: string,
  ) {
    super(message)
    this.name = 'IntrospectionFailure'
  }
}

/** How JWT introspection answers (RFC 9701) are verified. */
export interface JwtAnswerPolicy {
  readonly keys: KeySource
  /** Algorithms accepted; a key still only verifies those of its own type. */
  readonly algorithms: ReadonlySet<string>
  readonly clockTolerance: number
}

/** What one introspection exchange needs, settled at build time. */
export interface EndpointSettings {
  readonly issuer: string
  readonly clientId: string
  /** The configured endpoint, or `undefined` to read it from `metadata`. */
  readonly endpoint: URL | undefined
  readonly metadata: IssuerMetadata | undefined
  readonly authenticate: ApplyClientAuthentication
  readonly jwtAnswers: JwtAnswerPolicy | undefined
  readonly timeoutMs: number
  readonly maxBytes: number
  readonly headers: Readonly<Record<string, string>>
  /** Called once per metadata document the endpoint is read from (to warn about its methods). */
  readonly onMetadata?: (metadata: AuthorizationServerMetadata) => void
}

const JWT_ANSWER = 'application/token-introspection+jwt'
/** How old a signed answer may be: it was made for this request, a minute is plenty, five tolerate clocks. */
const MAX_JWT_ANSWER_AGE = 300

/**
 * The introspection call of a guard (RFC 7662 section 2.1): `token` and
 * `token_type_hint=access_token` posted as a form with the client's credentials, under every
 * rule of a remote fetch (timeout, size cap, no redirects). Resolves with the answer's members
 * (`active` a boolean); rejects with an {@link IntrospectionFailure} when there is no usable
 * answer, whatever the reason: the token is then neither accepted nor refused.
 */
export function introspector(
  settings: EndpointSettings,
): (token: string) => Promise<Record<string, unknown>> {
  const accept = settings.jwtAnswers === undefined ? 'application/json' : JWT_ANSWER
  let discovered: { readonly from: AuthorizationServerMetadata; readonly url: URL } | undefined

  const endpointOf = (metadata: AuthorizationServerMetadata | undefined): URL => {
    if (metadata === undefined) {
      throw new IntrospectionFailure(
        'metadata_unavailable',
        `the metadata of ${settings.issuer} is unavailable: ${settings.metadata?.lastFailure}`,
      )
    }
    if (discovered?.from !== metadata) {
      discovered = { from: metadata, url: new URL(metadata.introspection_endpoint as string) }
      settings.onMetadata?.(metadata)
    }
    return discovered.url
  }

  const endpoint = async (): Promise<URL> => {
    if (settings.endpoint !== undefined) return settings.endpoint
    const metadata = settings.metadata!.current()
    return endpointOf(isThenable(metadata) ? await metadata : metadata)
  }

  return async (token) => {
    const url = await endpoint()
    const form = new URLSearchParams({ token, token_type_hint: 'access_token' })
    const headers: Record<string, string> = {
      ...settings.headers,
      accept,
      'content-type': 'application/x-www-form-urlencoded',
    }
    await settings.authenticate(url, form, headers)
    let answer: Awaited<ReturnType<typeof fetchBounded>>
    try {
      answer = await fetchBounded(url, {
        method: 'POST',
        headers,
        body: form.toString(),
        timeoutMs: settings.timeoutMs,
        maxBytes: settings.maxBytes,
      })
    } catch (err) {
      const remote = err as RemoteError
      throw new IntrospectionFailure(remote.reason, remote.message)
    }
    if (answer.status === 401 || answer.status === 403) {
      throw new IntrospectionFailure(
        'client_auth_refused',
        `the introspection endpoint refused the client's credentials (${answer.status})`,
      )
    }
    let members: Record<string, unknown>
    if (settings.jwtAnswers !== undefined && answer.status === 200) {
      // A JSON answer where a signed one was asked for would let anyone on the way forge it.
      if (answer.contentType !== JWT_ANSWER) {
        throw new IntrospectionFailure(
          'malformed',
          `answer is ${answer.contentType || 'untyped'}, not ${JWT_ANSWER}`,
        )
      }
      members = await verifiedJwtAnswer(answer.text.trim(), settings, settings.jwtAnswers)
    } else {
      try {
        members = jsonObjectOf(answer)
      } catch (err) {
        const remote = err as RemoteError
        throw new IntrospectionFailure(remote.reason, remote.message)
      }
    }
    if (typeof members.active !== 'boolean') {
      throw new IntrospectionFailure('malformed', 'answer has no boolean "active"')
    }
    return members
  }
}

/**
 * The introspection answer inside a JWT response (RFC 9701 section 5): signed by the server's
 * key, `typ` `token-introspection+jwt`, `iss` the issuer, `aud` this client, `iat` recent, and the
 * answer in `token_introspection`. Any failure is the server's (or someone on the way's), not
 * the token's.
 */
async function verifiedJwtAnswer(
  jwt: string,
  settings: EndpointSettings,
  policy: JwtAnswerPolicy,
): Promise<Record<string, unknown>> {
  const bad = (why: string): never => {
    throw new IntrospectionFailure('bad_response_signature', `signed answer ${why}`)
  }
  const parts = jwt.split('.')
  if (parts.length !== 3)
    bad(parts.length === 5 ? 'is encrypted, which is not supported' : 'is not a compact JWS')
  const header = decodeSegment(parts[0]!) ?? bad('has no JSON header')
  const alg = header.alg
  if (!isJwtAlgorithm(alg) || !policy.algorithms.has(alg))
    bad(`uses algorithm ${JSON.stringify(alg)}, not allowed`)
  if (header.crit !== undefined || header.b64 !== undefined) bad('has a critical header, not understood')
  const kid = header.kid
  if (kid !== undefined && typeof kid !== 'string') bad('has a kid that is not a string')
  const found = policy.keys.candidates(alg as JwtAlgorithm, kid as string | undefined)
  const keys = Array.isArray(found) ? found : await found
  if (keys.length === 0) {
    if (policy.keys.loaded === false) {
      throw new IntrospectionFailure('keys_unavailable', "the server's keys could not be loaded")
    }
    bad(`names a key the server's JWK Set does not hold (kid ${JSON.stringify(kid)})`)
  }
  let payload: Record<string, unknown>
  try {
    payload = await verifyWithKeys(jwt, keys, alg as JwtAlgorithm, {
      issuer: settings.issuer,
      audience: settings.clientId,
      typ: 'token-introspection+jwt',
      requiredClaims: ['iat'],
      clockTolerance: policy.clockTolerance,
      maxTokenAge: MAX_JWT_ANSWER_AGE,
    })
  } catch (err) {
    if (err instanceof errors.JOSEError) bad(`failed verification (${err.code}: ${err.message})`)
    throw err
  }
  const members = payload.token_introspection
  if (members === null || typeof members !== 'object' || Array.isArray(members)) {
    bad('has no token_introspection object')
  }
  return members as Record<string, unknown>
}
