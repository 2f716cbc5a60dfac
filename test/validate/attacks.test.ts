import { connect } from 'node:net'
import { jsonBody, validate } from '@apiward/validate'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { send } from '../conformance/client.js'
import type { RouteSpec, RunningServer } from '../conformance/harness.js'
import { harnesses } from '../conformance/servers/index.js'
import { validateRoutes } from './routes.js'

const counter = validate({
  body: {
    type: 'object',
    properties: {
      count: { type: 'integer', minimum: 0 },
      slug: { type: 'string', pattern: '^[a-z0-9-]{1,32}$' },
    },
  },
})

const routes: RouteSpec[] = [
  ...validateRoutes,
  { method: 'POST', path: '/count', guards: [counter], handler: ({ body }) => ({ body: { body } }) },
  {
    method: 'POST',
    path: '/big',
    guards: [jsonBody({ limit: 16 * 1024 * 1024 })],
    handler: () => ({ body: { ok: true } }),
  },
]

const json = (value: unknown) => JSON.stringify(value)
// The 10 MB and 1M-element cases run on one version per framework, to keep the run short.
const ONE_PER_FRAMEWORK = harnesses.filter(
  (h, i) => harnesses.findIndex((other) => other.framework === h.framework) === i,
)

/** A chunked POST over a raw socket that keeps writing until the server answers; resolves to the status line and the bytes written. */
function chunkedFlood(
  url: string,
  path: string,
  total: number,
): Promise<{ status: string; written: number }> {
  const { port } = new URL(url)
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1')
    let answer = ''
    let written = 0
    let done = false
    const finish = () => {
      if (done) return
      done = true
      socket.destroy()
      resolve({ status: answer.split('\r\n')[0] ?? '', written })
    }
    socket.on('data', (d) => {
      answer += d.toString('latin1')
      if (answer.includes('\r\n\r\n')) finish()
    })
    socket.on('error', finish)
    socket.on('close', finish)
    socket.on('connect', () => {
      socket.write(
        `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`,
      )
      const chunk = `${'['.repeat(1)}${'1,'.repeat(32_767)}`
      const pump = () => {
        while (!done && written < total) {
          written += chunk.length
          if (!socket.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`)) {
            socket.once('drain', pump)
            return
          }
        }
        if (!done) socket.write('0\r\n\r\n')
      }
      pump()
    })
    setTimeout(() => reject(new Error('no answer')), 15_000).unref()
  })
}

describe.each(harnesses)('$name adapter: attacks on validated routes', (harness) => {
  let server: RunningServer
  beforeAll(async () => {
    server = await harness.start({ routes, bodyParser: false })
  })
  afterAll(async () => {
    await server.close()
  })

  const post = (path: string, body: string, headers: Record<string, string> = {}) =>
    send(`${server.url}${path}`, {
      method: 'POST',
      body,
      headers: { 'Content-Type': 'application/json', ...headers },
    })

  it.each(['ownerId', 'id', 'isAdmin', 'createdAt'])(
    'refuses mass assignment of %s, naming it',
    async (property) => {
      const answer = await post('/notes', json({ title: 'x', [property]: 'alice' }))
      expect(answer.status).toBe(400)
      expect(answer.json.errors[0]).toMatchObject({
        in: 'body',
        pointer: `/${property}`,
        keyword: 'additionalProperties',
      })
    },
  )

  it('refuses NoSQL operator objects by their type', async () => {
    for (const body of [
      { title: { $gt: '' } },
      { title: 'x', tags: [{ $ne: null }] },
      { title: { $where: '1' } },
    ]) {
      const answer = await post('/notes', json(body))
      expect(answer.status).toBe(400)
      expect(answer.json.errors[0].keyword).toBe('type')
    }
  })

  it.each([['"1e3"'], ['[5]'], ['null'], ['true'], ['"5"'], ['5.5']])(
    'refuses the type confusion %s where an integer is declared',
    async (value) => {
      const answer = await post('/count', `{"count":${value}}`)
      expect(answer.status).toBe(400)
      expect(answer.json.code).toBe('validation.rejected')
      expect(answer.json.errors[0]).toMatchObject({ in: 'body', pointer: '/count' })
    },
  )

  it.each([['1e309'], ['-1e309'], ['9007199254740993'], ['123456789012345678901234567890']])(
    'refuses the number %s that lost its value while parsing',
    async (value) => {
      const answer = await post('/count', `{"count":${value}}`)
      expect(answer.status).toBe(400)
      expect(answer.json.code).toBe('validation.unsafe_number')
      expect(answer.json.errors[0].pointer).toBe('/count')
    },
  )

  it('accepts the largest safe integer', async () => {
    const answer = await post('/count', `{"count":${Number.MAX_SAFE_INTEGER}}`)
    expect(answer.status).toBe(200)
    expect(answer.json.body.count).toBe(Number.MAX_SAFE_INTEGER)
  })

  it('refuses prototype-poisoning keys at any depth and leaves Object.prototype alone', async () => {
    const bodies = [
      '{"title":"x","__proto__":{"isAdmin":true}}',
      '{"title":"x","constructor":{"prototype":{"isAdmin":true}}}',
      '{"title":"x","tags":[{"__proto__":{"isAdmin":true}}]}',
      '{"a":{"b":{"__proto__":{"isAdmin":true}}}}',
    ]
    for (const body of bodies) {
      for (const path of ['/notes', '/raw-json']) {
        const answer = await post(path, body)
        expect(answer.status, `${path} ${body}`).toBe(400)
        expect(answer.json.code).toBe('validation.forbidden_key')
      }
    }
    expect(({} as { isAdmin?: unknown }).isAdmin).toBeUndefined()
  })

  it('validates the value the handler reads when a key is repeated: the last one, for both', async () => {
    const hidden = await post('/notes', '{"title":"ok","title":{"$gt":""}}')
    expect(hidden.status).toBe(400)
    expect(hidden.json.errors[0]).toMatchObject({ pointer: '/title', keyword: 'type' })
    const answer = await post('/notes', '{"title":{"$gt":""},"title":"ok"}')
    expect(answer.status).toBe(201)
    expect(answer.json.body.title).toBe('ok')
    expect(answer.json.validated.title).toBe('ok')
  })

  it('refuses traversal and command strings where a field has a pattern', async () => {
    for (const slug of ['../../etc/passwd', 'a;rm -rf /', '$(reboot)', 'a|cat', 'a\u0000b', '%2e%2e%2f']) {
      const answer = await post('/count', json({ slug }))
      expect(answer.status, slug).toBe(400)
      expect(answer.json.errors[0]).toMatchObject({ pointer: '/slug', keyword: 'pattern' })
    }
  })

  it('accepts injection strings as free text, which only output encoding and parameterised queries protect', async () => {
    const title = `'; DROP TABLE notes; -- <script>alert(1)</script> {{7*7}} \${jndi:ldap://x}`
    const answer = await post('/notes', json({ title }))
    expect(answer.status).toBe(201)
    expect(answer.json.body.title).toBe(title)
  })

  it.each([
    ['text/plain', 'request.unsupported_media_type'],
    ['application/x-www-form-urlencoded', 'request.unsupported_media_type'],
    ['application/jsonx', 'request.unsupported_media_type'],
    ['json', 'request.unsupported_media_type'],
    ['application/json; charset=utf-16', 'request.unsupported_charset'],
    ['application/json; charset="latin1"', 'request.unsupported_charset'],
  ])('answers a body of type %s with 415 %s', async (type, code) => {
    const answer = await post('/notes', json({ title: 'x' }), { 'Content-Type': type })
    expect(answer.status).toBe(415)
    expect(answer.json.code).toBe(code)
  })

  it('answers a body without a Content-Type with 415', async () => {
    const answer = await send(`${server.url}/notes`, { method: 'POST', body: json({ title: 'x' }) })
    expect(answer.status).toBe(415)
    expect(answer.json.code).toBe('request.unsupported_media_type')
  })

  it('answers a compressed body with 415', async () => {
    const answer = await post('/notes', json({ title: 'x' }), { 'Content-Encoding': 'gzip' })
    expect(answer.status).toBe(415)
    expect(answer.json.code).toBe('request.unsupported_encoding')
  })

  it('accepts a +json type and an explicit utf-8 charset', async () => {
    // Fastify's own parser, which the adapter replays the bytes to, knows application/json only.
    const suffixed = harness.framework === 'fastify' ? [] : ['application/merge-patch+json']
    for (const type of [...suffixed, 'application/json; charset=UTF-8', 'Application/JSON']) {
      const answer = await post('/notes', json({ title: 'x' }), { 'Content-Type': type })
      expect(answer.status, type).toBe(201)
    }
  })

  it('answers an empty body with a JSON type with 400 request.malformed_body', async () => {
    for (const path of ['/notes', '/raw-json']) {
      const answer = await post(path, '')
      expect(answer.status, path).toBe(400)
      expect(answer.json.code).toBe('request.malformed_body')
    }
  })

  it('answers a POST without any body on a body schema with a 4xx saying a JSON body is required', async () => {
    const answer = await send(`${server.url}/notes`, { method: 'POST' })
    // Fastify's content-type parsing, after the guards that run on the headers, answers first.
    if (harness.framework === 'fastify') {
      expect(answer.status).toBe(415)
      expect(answer.json.code).toBe('request.unsupported_media_type')
      return
    }
    expect(answer.status).toBe(400)
    expect(answer.json.errors).toEqual([
      { in: 'body', pointer: '', message: 'a JSON request body is required', keyword: 'required' },
    ])
  })

  it('answers malformed JSON with 400 without echoing it or the parser', async () => {
    for (const body of [
      '{"title": "leaked-secret-42"',
      "{'a':1}",
      '{"a":1,}',
      'NaN',
      '\uFEFF\uFEFF{}',
      '{"a":"\\ud800"',
    ]) {
      const answer = await post('/raw-json', body)
      if (answer.status === 200) continue // a lone surrogate escape is valid JSON
      expect(answer.status, body).toBe(400)
      expect(answer.json.code).toBe('request.malformed_body')
      expect(answer.text).not.toContain('leaked-secret-42')
      expect(answer.text).not.toMatch(/Unexpected|position|JSON at/)
    }
  })

  it('answers bytes that are not UTF-8 with 400', async () => {
    const answer = await send(`${server.url}/raw-json`, {
      method: 'POST',
      body: Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
      headers: { 'Content-Type': 'application/json' },
    })
    expect(answer.status).toBe(400)
    expect(answer.json.code).toBe('request.malformed_body')
  })

  it('refuses 10,000-deep nesting with 400 before anything recursive runs', async () => {
    for (const body of [
      '['.repeat(10_000) + ']'.repeat(10_000),
      '{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000),
    ]) {
      const answer = await post('/big', body)
      expect(answer.status).toBe(400)
      expect(answer.json.code).toBe('validation.body_too_complex')
    }
    expect((await post('/notes', json({ title: 'alive' }))).status).toBe(201)
  })

  it('takes 32 levels and refuses 33', async () => {
    const nest = (n: number) => '['.repeat(n) + ']'.repeat(n)
    expect((await post('/big', nest(32))).status).toBe(200)
    expect((await post('/big', nest(33))).json.code).toBe('validation.body_too_complex')
  })

  it('refuses a declared length over the limit with 413', async () => {
    const answer = await post('/notes', json({ title: 'x', body: 'y'.repeat(102_400) }))
    expect(answer.status).toBe(413)
    expect(answer.json.code).toBe('request.body_too_large')
  })

  it('refuses parameter pollution of a scalar query parameter', async () => {
    const answer = await send(`${server.url}/notes?limit=1&limit=100`)
    expect(answer.status).toBe(400)
    expect(answer.json.errors[0]).toMatchObject({ in: 'query', pointer: '/limit' })
  })
})

describe.each(ONE_PER_FRAMEWORK)('$name adapter: huge bodies', (harness) => {
  let server: RunningServer
  beforeAll(async () => {
    server = await harness.start({ routes, bodyParser: false })
  })
  afterAll(async () => {
    await server.close()
  })

  const post = (path: string, body: string) =>
    send(`${server.url}${path}`, { method: 'POST', body, headers: { 'Content-Type': 'application/json' } })

  it('refuses a 10 MB body with 413, and the process goes on', async () => {
    const declared = await post('/notes', 'x'.repeat(10 * 1024 * 1024))
    expect(declared.status).toBe(413)
    const flood = await chunkedFlood(server.url, '/notes', 10 * 1024 * 1024)
    expect(flood.status).toMatch(/^HTTP\/1\.1 413 /)
    // The answer came while the client was still sending: the server stopped reading at the limit.
    expect(flood.written).toBeLessThan(10 * 1024 * 1024)
    expect((await post('/notes', json({ title: 'alive' }))).status).toBe(201)
  })

  it('refuses a 1M-element array with 413 or 400, and the process goes on', async () => {
    const array = `[${'1,'.repeat(999_999)}1]`
    const small = await post('/raw-json', array)
    expect(small.status).toBe(413)
    const big = await post('/big', array)
    expect(big.status).toBe(400)
    expect(big.json.code).toBe('validation.body_too_complex')
    expect((await post('/notes', json({ title: 'alive' }))).status).toBe(201)
  })
})
