import { randomUUID } from 'node:crypto'
import { expect } from 'vitest'
import { type Answer, type Call, freshAddress, send } from './http.js'

/** The API key the contract gives `reports-bot` by default. */
export const REPORTS_API_KEY = 'ak_dev_reports_0123456789abcdef0123'

/** The only origin the contract allows. */
export const APP_ORIGIN = 'https://app.example.test'

/** A note on the wire has these fields and nothing else. */
export const NOTE_FIELDS = ['body', 'createdAt', 'id', 'ownerId', 'tags', 'title']

/** A request ID the suite can find again in the audit log. */
export function requestId(): string {
  return `e2e-${randomUUID()}`
}

/**
 * A Content-Security-Policy as its directives: the CSP grammar allows optional whitespace around
 * `;`, so `a;b` and `a; b` are the same policy.
 */
export function directives(policy: string | undefined): string[] | undefined {
  return policy
    ?.split(';')
    .map((d) => d.trim().replace(/\s+/g, ' '))
    .filter((d) => d !== '')
}

/** The headers the contract puts on every answer, errors included. */
export function expectSecureHeaders(res: Answer, what = 'the answer'): void {
  const on = `${what} (${res.status} ${res.json?.code ?? ''})`
  expect(res.header('x-content-type-options'), `X-Content-Type-Options on ${on}`).toBe('nosniff')
  expect(res.header('strict-transport-security'), `HSTS on ${on}`).toMatch(/max-age=\d+/)
  expect(directives(res.header('content-security-policy')), `CSP on ${on}`).toEqual([
    "default-src 'none'",
    "frame-ancestors 'none'",
  ])
  expect(res.header('referrer-policy'), `Referrer-Policy on ${on}`).toBe('no-referrer')
  expect(res.header('cache-control'), `Cache-Control on ${on}`).toBe('no-store')
  expect(res.header('x-powered-by'), `X-Powered-By on ${on}`).toBeUndefined()
  expect(res.header('x-request-id'), `X-Request-Id on ${on}`).toMatch(/^[A-Za-z0-9._-]{1,128}$/)
}

/** An RFC 9457 answer with the contract's fields, no stack trace, no framework page. */
export function expectProblem(res: Answer, status: number, code?: string): void {
  expect(res.status, `${res.status} ${res.text.slice(0, 300)}`).toBe(status)
  expect(res.header('content-type')).toMatch(/^application\/problem\+json/)
  expect(res.json).toMatchObject({
    type: expect.any(String),
    title: expect.any(String),
    status,
    code: expect.stringMatching(/^[a-z0-9_]+(\.[a-z0-9_]+)+$/),
    detail: expect.any(String),
  })
  expect(res.json.requestId).toBe(res.header('x-request-id'))
  if (code !== undefined) expect(res.json.code).toBe(code)
  expect(res.text).not.toMatch(/\n\s+at |node_modules|<html|<!DOCTYPE/i)
}

/** A validation problem that names where the input was wrong. */
export function expectInvalid(res: Answer, where: 'body' | 'query' | 'params' | 'headers', pointer?: string) {
  expectProblem(res, 400)
  expect(Array.isArray(res.json.errors), res.text).toBe(true)
  const entry = (res.json.errors as Array<{ in: string; pointer: string; message: string }>).find(
    (e) => e.in === where && (pointer === undefined || e.pointer === pointer),
  )
  expect(entry, `an error in ${where}${pointer ?? ''}: ${res.text}`).toBeDefined()
  expect(entry!.message).toEqual(expect.any(String))
}

/** What a recorded request must leave in the audit log. */
export interface Recorded {
  requestId: string
  status: number
  /** Event types that must have a line with this request ID. */
  events: string[]
  /** A `reason` some line of the request must carry. */
  reason?: string
}

/**
 * A client of one running example: every answer is checked for the contract's headers (and its
 * problem shape when it is an error) and remembered for the audit-log checks.
 */
export class Client {
  readonly recorded: Recorded[] = []
  constructor(private readonly port: () => number) {}

  async call(call: Call): Promise<Answer> {
    const id = call.headers?.['X-Request-Id'] ?? requestId()
    const res = await send(this.port(), {
      ...call,
      from: call.from ?? freshAddress(),
      headers: { 'X-Request-Id': id, ...call.headers },
    })
    expectSecureHeaders(res, `${call.method ?? 'GET'} ${call.path.slice(0, 80)}`)
    if (res.status >= 400) expectProblem(res, res.status)
    expect(res.status, `${call.method ?? 'GET'} ${call.path}: ${res.text.slice(0, 300)}`).toBeLessThan(500)
    if (res.header('x-request-id') === id)
      this.recorded.push({ requestId: id, status: res.status, events: [] })
    return res
  }

  /** Expects the audit log to hold these events (and this reason) for the request of `res`. */
  expectLines(res: Answer, events: string[], reason?: string): void {
    const entry = this.recorded.find((r) => r.requestId === res.header('x-request-id'))
    expect(entry, 'the request echoed its X-Request-Id').toBeDefined()
    entry!.events.push(...events)
    if (reason !== undefined) entry!.reason = reason
  }

  /** A JSON request with a bearer token. */
  json(method: string, path: string, token: string | undefined, body: unknown, from?: string) {
    return this.call({
      method,
      path,
      from,
      headers: {
        'Content-Type': 'application/json',
        ...(token === undefined ? {} : { Authorization: `Bearer ${token}` }),
      },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    })
  }

  get(path: string, token?: string, from?: string, headers: Record<string, string> = {}) {
    return this.call({
      path,
      from,
      headers: { ...(token === undefined ? {} : { Authorization: `Bearer ${token}` }), ...headers },
    })
  }
}

/**
 * Whether two instances count one budget: `points` requests of one token on the first all pass,
 * and the next one, on the second instance, is refused with 429.
 */
export async function sharesOneBudget(
  one: Client,
  two: Client,
  token: string,
  points: number,
): Promise<boolean> {
  const first: number[] = []
  for (let i = 0; i < points; i++) first.push((await one.get('/notes', token)).status)
  const second = (await two.get('/notes', token)).status
  return first.every((s) => s === 200) && second === 429
}
