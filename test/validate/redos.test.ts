import { type RegExpEngine, validate } from '@apiward/validate'
import { RE2JS } from 're2js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { send } from '../conformance/client.js'
import type { RunningServer } from '../conformance/harness.js'
import { harnesses } from '../conformance/servers/index.js'

/** re2js, a linear-time engine without a native build, as ajv's `code.regExp`. */
const re2: RegExpEngine = (pattern) => RE2JS.compile(pattern)

// Catastrophic backtracking: JavaScript's RegExp takes seconds on 'a' x 27 + '!' (see docs/validate.md).
const EVIL = '^(a+)+$'
const evilInput = `${'a'.repeat(27)}!`

const linear = validate({
  body: { type: 'object', properties: { name: { type: 'string', pattern: EVIL } } },
  regExp: re2,
})
const bounded = validate({
  body: { type: 'object', properties: { name: { type: 'string', maxLength: 16, pattern: EVIL } } },
})

describe('the regular-expression engine of validate()', () => {
  it('is the engine given: a pattern re2 cannot run (a backreference) is refused at startup', () => {
    expect(() => validate({ body: { type: 'string', pattern: '(a)\\1' }, regExp: re2 })).toThrow(
      /body: the schema is refused/,
    )
    expect(() => validate({ body: { type: 'string', pattern: '(a)\\1' } })).not.toThrow()
  })
})

describe.each(harnesses)('$name adapter: patterns and ReDoS', (harness) => {
  let server: RunningServer
  beforeAll(async () => {
    server = await harness.start({
      bodyParser: false,
      routes: [
        { method: 'POST', path: '/linear', guards: [linear], handler: ({ body }) => ({ body }) },
        { method: 'POST', path: '/bounded', guards: [bounded], handler: ({ body }) => ({ body }) },
      ],
    })
  })
  afterAll(async () => {
    await server.close()
  })

  const post = (path: string, name: string) =>
    send(`${server.url}${path}`, {
      method: 'POST',
      body: JSON.stringify({ name }),
      headers: { 'Content-Type': 'application/json' },
    })

  it('refuses a backtracking input with a linear-time engine and accepts a matching one', async () => {
    const refused = await post('/linear', evilInput)
    expect(refused.status).toBe(400)
    expect(refused.json.errors[0]).toMatchObject({ in: 'body', pointer: '/name', keyword: 'pattern' })
    expect((await post('/linear', 'aaaa')).status).toBe(200)
  })

  it('checks the length before the pattern, so an overlong input never reaches the pattern', async () => {
    const refused = await post('/bounded', `${'a'.repeat(40)}!`)
    expect(refused.status).toBe(400)
    expect(refused.json.errors[0]).toMatchObject({ pointer: '/name', keyword: 'maxLength' })
  })
})
