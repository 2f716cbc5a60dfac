import { BadRequest, Unauthorized } from '@apiward/errors'

/** Why a token was refused. Sent to security events, never to the client. */
export type TokenFailureReason =
  | 'malformed'
  | 'too_long'
  | 'encrypted'
  | 'algorithm_not_allowed'
  | 'unsupported_header'
  | 'unknown_key'
  | 'bad_signature'
  | 'expired'
  | 'not_yet_valid'
  | 'too_old'
  | 'issued_in_future'
  | 'lifetime_too_long'
  | 'missing_claim'
  | 'invalid_claim'
  | 'issuer_not_allowed'
  | 'audience_not_allowed'
  | 'wrong_type'
  | 'rejected_by_validate'
  | 'revoked'
  | 'keys_unavailable'
  | 'misconfigured'
  | 'inactive'

function quoted(value: string): string {
  return value.replace(/[\\"]/g, '\\$&')
}

/**
 * The RFC 6750 answers of one bearer guard. Header values are built once, at factory time, so a
 * denial costs one `ApiError` and nothing else.
 */
export class BearerChallenges {
  /** `Bearer realm="..."`: the challenge of a 401 when no token was sent. */
  readonly challenge: string
  readonly #invalidToken: string
  readonly #invalidRequest: string

  /**
   * `also` adds another scheme's challenge after the `Bearer` one (DPoP's `DPoP algs="..."`),
   * given the same `error`, so a client of either scheme reads why it was refused.
   */
  constructor(realm: string, also?: (error: string | undefined) => string) {
    const bearer = `Bearer realm="${quoted(realm)}"`
    const other = (error: string | undefined) => (also === undefined ? '' : `, ${also(error)}`)
    this.challenge = bearer + other(undefined)
    this.#invalidToken = `${bearer}, error="invalid_token"${other('invalid_token')}`
    this.#invalidRequest = `${bearer}, error="invalid_request"${other('invalid_request')}`
  }

  /** 401 `auth.missing_token`: no token was sent. */
  missingToken(): Unauthorized {
    return new Unauthorized({
      code: 'auth.missing_token',
      detail: 'A bearer token is required.',
      headers: { 'WWW-Authenticate': this.challenge },
    })
  }

  /** 401 `auth.invalid_token`, the same for every reason, so the client learns nothing. */
  invalidToken(): Unauthorized {
    return new Unauthorized({
      code: 'auth.invalid_token',
      detail: 'The access token is invalid.',
      headers: { 'WWW-Authenticate': this.#invalidToken },
    })
  }

  /** 400 `auth.invalid_request`: the credentials were sent in a way RFC 6750 forbids. */
  invalidRequest(detail: string, cause?: unknown): BadRequest {
    return new BadRequest({
      code: 'auth.invalid_request',
      detail,
      headers: { 'WWW-Authenticate': this.#invalidRequest },
      cause,
    })
  }
}
