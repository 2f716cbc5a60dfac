import { type SecurityContext, warnOnce } from '@apiward/core'
import { BadRequest } from '@apiward/errors'

/**
 * Bytes `bruteForce()` reads of a login body no parser read: a login form or JSON document is a
 * few hundred bytes, so a larger one is refused (413) rather than buffered.
 */
export const LOGIN_BODY_LIMIT = 16_384

type Fields = Record<string, unknown>

const isObject = (value: unknown): value is Fields =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

/** The user of an `Authorization: Basic` header, `undefined` without one. */
function basicUser(header: string | undefined): string | undefined {
  if (header === undefined || header.length < 7 || header.slice(0, 6).toLowerCase() !== 'basic ') return
  let decoded: string
  try {
    decoded = new TextDecoder().decode(Uint8Array.from(atob(header.slice(6).trim()), (c) => c.charCodeAt(0)))
  } catch {
    return undefined
  }
  const colon = decoded.indexOf(':')
  return colon === -1 ? undefined : decoded.slice(0, colon)
}

function hasBody(ctx: SecurityContext): boolean {
  const length = ctx.req.header('content-length')
  return (length !== undefined && length !== '0') || ctx.req.header('transfer-encoding') !== undefined
}

function warnNoUsername(ctx: SecurityContext): void {
  warnOnce(
    'APIWARD_BRUTEFORCE_NO_USERNAME',
    `bruteForce() found no username on ${ctx.req.method} ${ctx.req.rawPath} (no body field "username", no Basic credentials): its attempts count per IP only, so users behind one NAT lock each other out and no account is protected against guessing from many IPs. Parse the body before the guard (express.json() and express.urlencoded(), @koa/bodyparser, @fastify/formbody for forms), or tell it where the username is: bruteForce({ username: (ctx) => ... }).`,
    'ratelimit.md#the-username',
  )
}

const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype'])

/** A form body as fields; a repeated field becomes an array (and so no username). */
function formFields(text: string): Fields {
  const fields: Fields = {}
  for (const [name, value] of new URLSearchParams(text)) {
    if (FORBIDDEN.has(name)) continue
    const known = fields[name]
    fields[name] = known === undefined ? value : Array.isArray(known) ? [...known, value] : [known, value]
  }
  return fields
}

/** Parses a body no parser read, as the frameworks' own parsers would: JSON and forms. */
function parseBody(ctx: SecurityContext, bytes: Uint8Array): unknown {
  const text = new TextDecoder().decode(bytes)
  if (ctx.req.is('application/json', '+json')) {
    try {
      return JSON.parse(text)
    } catch (err) {
      throw new BadRequest({
        code: 'request.malformed_body',
        detail: 'The request body could not be parsed.',
        cause: err,
      })
    }
  }
  if (ctx.req.is('application/x-www-form-urlencoded')) return formFields(text)
  return undefined
}

function fromRawBody(ctx: SecurityContext): Promise<unknown> {
  return ctx.readBody(LOGIN_BODY_LIMIT).then(
    (bytes) => {
      const body = parseBody(ctx, bytes)
      if (body !== undefined) ctx.setBody(body)
      if (isObject(body) && Object.hasOwn(body, 'username')) return body.username
      warnNoUsername(ctx)
      return undefined
    },
    (err: unknown) => {
      // A parser read the body and left no username in it: nothing more to find.
      if (!(err instanceof TypeError)) throw err
      warnNoUsername(ctx)
      return undefined
    },
  )
}

/**
 * The username of a login attempt wherever the framework has it: the parsed body's `username`,
 * the user of `Authorization: Basic`, else the body itself when no parser read it (JSON or a
 * form, at most {@link LOGIN_BODY_LIMIT} bytes, then handed to the handler as the parsed body).
 * Without one anywhere it warns once, naming the fix, and the attempt counts per IP.
 */
export function usernameFromRequest(ctx: SecurityContext): unknown {
  const body = ctx.req.body
  if (isObject(body) && Object.hasOwn(body, 'username')) return body.username
  const basic = basicUser(ctx.req.header('authorization'))
  if (basic !== undefined) return basic
  // Express 4 leaves `{}` for a type its parsers skipped, with the body still unread.
  const unread = body === undefined || (isObject(body) && Object.keys(body).length === 0)
  if (unread && hasBody(ctx) && typeof ctx.req.readBody === 'function') return fromRawBody(ctx)
  warnNoUsername(ctx)
  return undefined
}
