import { jwt } from '@apiward/auth'
import { SignJWT } from 'jose'
import { AUDIENCE, ISSUER } from '../auth/jwt-support.js'
import type { SendOptions } from '../conformance/client.js'

export const SECRET = 'an-hs256-secret-of-at-least-32-bytes-for-authz-tests'

/** The real authentication guard every authz route sits behind. */
export const authenticate = () => jwt({ secret: SECRET, issuer: ISSUER, audience: AUDIENCE })

/** A signed access token for `sub`, with roles, scopes and further claims. */
export function token(sub: string, claims: Record<string, unknown> = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  return new SignJWT({ iss: ISSUER, aud: AUDIENCE, sub, iat: now, exp: now + 600, ...claims })
    .setProtectedHeader({ alg: 'HS256' })
    .sign(new TextEncoder().encode(SECRET))
}

/** Request options that send `value` as a bearer token, with more headers and a JSON body. */
export function as(
  value: string,
  more: Omit<SendOptions, 'headers'> & { headers?: Record<string, string> } = {},
): SendOptions {
  const headers: Record<string, string> = { Authorization: `Bearer ${value}`, ...more.headers }
  if (more.body !== undefined) headers['Content-Type'] = 'application/json'
  return { ...more, headers }
}

/** The parts of a problem answer a client can compare: everything but the request ID. */
export function problemShape(answer: { status: number; headers: Record<string, unknown>; json: any }) {
  const { requestId: _id, ...body } = answer.json ?? {}
  return {
    status: answer.status,
    contentType: answer.headers['content-type'],
    wwwAuthenticate: answer.headers['www-authenticate'],
    headerNames: Object.keys(answer.headers)
      .filter((name) => !['date', 'content-length', 'etag'].includes(name))
      .sort(),
    body,
  }
}
