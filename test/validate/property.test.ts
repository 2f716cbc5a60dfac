import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { send } from '../conformance/client.js'
import type { RunningServer } from '../conformance/harness.js'
import { harnesses } from '../conformance/servers/index.js'
import { validateRoutes } from './routes.js'

// One version per framework keeps the run short; every version runs the attack corpus.
const ONE_PER_FRAMEWORK = harnesses.filter(
  (h, i) => harnesses.findIndex((other) => other.framework === h.framework) === i,
)

const jsonish = fc.oneof(
  fc.json({ depthSize: 'medium' }),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.constantFrom(
    '{"__proto__":{"a":1}}',
    '[1e309]',
    '{"title":{"$gt":""}}',
    '',
    '{',
    '"\\ud800"',
    '['.repeat(40),
  ),
)
const queryChar = fc.constantFrom(...'abc=&%[]$.+_-0123456789limitag'.split(''))
const query = fc.array(queryChar, { maxLength: 40 }).map((chars) => chars.join(''))
const headerValue = fc.string({
  unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
  maxLength: 40,
})
const contentType = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-16',
  'text/plain',
  'application/x+json',
  'multipart/form-data; boundary=x',
  '',
  ';;;',
)

describe.each(ONE_PER_FRAMEWORK)('$name adapter: random input', (harness) => {
  let server: RunningServer
  beforeAll(async () => {
    server = await harness.start({ routes: validateRoutes, bodyParser: false })
  })
  afterAll(async () => {
    await server.close()
  })

  it('never answers a random body, query or header with a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('/notes', '/notes/note-1', '/raw-json', '/versioned'),
        fc.constantFrom('GET', 'POST', 'PATCH'),
        jsonish,
        query,
        headerValue,
        contentType,
        async (path, method, body, search, version, type) => {
          const headers: Record<string, string> = { 'Api-Version': version }
          if (type !== '') headers['Content-Type'] = type
          const answer = await send(`${server.url}${path}?${search}`, {
            method,
            headers,
            ...(method === 'GET' ? {} : { body }),
          })
          expect(answer.status).toBeGreaterThanOrEqual(200)
          expect(answer.status).toBeLessThan(500)
          if (answer.status >= 400)
            expect(answer.headers['content-type']).toMatch(/^application\/problem\+json/)
        },
      ),
      { numRuns: 60 },
    )
  })
})
