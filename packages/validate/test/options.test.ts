import { configureWarnings, describeGuards, resetWarnings } from '@apiward/core'
import { afterEach, describe, expect, it } from 'vitest'
import { jsonBody, response, validate } from '../src/index.js'

const note = { type: 'object', properties: { title: { type: 'string' } } } as const

describe('validate() options', () => {
  it('refuses an unknown option with the one meant', () => {
    expect(() => validate({ bdy: note } as never)).toThrow(
      /validate\(\): unknown option "bdy"; did you mean "body"\?/,
    )
    expect(() => validate({ querystring: note } as never)).toThrow(/did you mean "query"/)
    expect(() => validate({ coerceTypes: true } as never)).toThrow(/bodies never are/)
  })

  it('refuses options that are not an object and a validator without schemas', () => {
    expect(() => validate(undefined as never)).toThrow(/options must be an object/)
    expect(() => validate({})).toThrow(/give at least one schema/)
  })

  it('refuses a schema that ajv strict mode refuses, with the part and the name', () => {
    expect(() => validate({ name: 'POST /notes', body: { type: 'object', minLength: 1 } })).toThrow(
      /validate\(\) of POST \/notes: body: the schema is refused by ajv in strict mode: strict mode: .*minLength/,
    )
    expect(() => validate({ query: { type: 'object', properties: { a: { type: 'strin' } } } })).toThrow(
      /query: the schema is refused/,
    )
    expect(() => validate({ body: { type: 'string', format: 'no-such-format' } })).toThrow(/unknown format/)
  })

  it('takes $data as a plain value and refuses non-lower-case header names at startup', () => {
    expect(() =>
      validate({ body: { type: 'object', properties: { a: { const: { $data: '1/b' } } } } }),
    ).not.toThrow()
    expect(() =>
      validate({ headers: { type: 'object', properties: { 'X-Api-Version': { type: 'string' } } } }),
    ).toThrow(/property names must be lower case, as HTTP header names compare: 'x-api-version'/)
  })

  it('refuses ill-typed options with their name', () => {
    expect(() => validate({ body: note, allErrors: 'yes' } as never)).toThrow(
      /allErrors must be true or false/,
    )
    expect(() => validate({ body: note, allErrors: true, maxErrors: 0 })).toThrow(
      /maxErrors must be a positive integer/,
    )
    expect(() => validate({ body: note, regExp: /x/ } as never)).toThrow(
      /regExp must be a regular-expression engine/,
    )
    expect(() => validate({ body: note, json: { limt: 5 } } as never)).toThrow(
      /validate\(\): json: unknown option "limt"; did you mean "limit"\?/,
    )
  })

  it('says in the route inventory what it checks', () => {
    const described = describeGuards(validate({ params: note, body: note }))
    expect(described.map((g) => [g.name, g.kind, g.readsRawBody])).toEqual([
      ['validate', 'validation', false],
      ['validate.jsonBody', 'validation', true],
      ['validate.body', 'validation', false],
    ])
    expect(described[0]!.settings).toMatchObject({ parts: ['params', 'body'], unknownProperties: 'refused' })
  })

  it('needs the body only when a body schema is given', () => {
    expect(validate({ query: note }).needsBody === true).toBe(false)
    expect(validate({ body: note }).needsBody).toBe(true)
    expect(validate({ body: note, json: false }).readsRawBody === true).toBe(false)
  })
})

describe('the pattern warning', () => {
  afterEach(() => {
    configureWarnings()
    resetWarnings()
  })

  const warned = (build: () => unknown) => {
    const codes: string[] = []
    resetWarnings()
    configureWarnings({ logger: (code, message) => codes.push(`${code} ${message}`) })
    build()
    return codes
  }

  it('warns once at startup of a pattern on a string without maxLength', () => {
    const codes = warned(() =>
      validate({ body: { type: 'object', properties: { slug: { type: 'string', pattern: '^[a-z]+$' } } } }),
    )
    expect(codes).toHaveLength(1)
    expect(codes[0]).toMatch(
      /^APIWARD_VALIDATE_UNBOUNDED_PATTERN .*body has a pattern at \/properties\/slug\/pattern/,
    )
  })

  it('says nothing of a bounded pattern or a pattern on a linear-time engine', () => {
    const slug = { type: 'string', pattern: '^[a-z]+$' } as const
    expect(warned(() => validate({ body: { ...slug, maxLength: 64 } }))).toEqual([])
    expect(warned(() => validate({ body: slug, regExp: (p) => new RegExp(p, 'u') }))).toEqual([])
  })
})

describe('jsonBody() options', () => {
  it('refuses unknown and ill-typed options, naming them', () => {
    expect(() => jsonBody({ limits: 10 } as never)).toThrow(/unknown option "limits"; did you mean "limit"\?/)
    expect(() => jsonBody({ inflate: true } as never)).toThrow(/compressed bodies are not accepted/)
    expect(() => jsonBody({ limit: -1 })).toThrow(/limit must be an integer of at least 1/)
    expect(() => jsonBody({ maxDepth: 1.5 })).toThrow(/maxDepth must be an integer/)
    expect(() => jsonBody({ types: [] })).toThrow(/types must be a non-empty list/)
    expect(() => jsonBody({ types: ['text/plain'] })).toThrow(/types must be JSON media types/)
    expect(() => jsonBody({ dangerouslyAllowUnsafeNumbers: 1 } as never)).toThrow(/must be true or false/)
  })

  it('says its limits in the route inventory', () => {
    const [described] = describeGuards(jsonBody({ limit: 2048 }))
    expect(described).toMatchObject({ name: 'jsonBody', kind: 'validation', readsRawBody: true })
    expect(described!.settings).toMatchObject({ limit: 2048, maxDepth: 32, unsafeNumbers: false })
  })
})

describe('response() options', () => {
  it('refuses a schema that is not one and unknown options', () => {
    expect(() => response('x' as never)).toThrow(/schema must be a JSON Schema object/)
    expect(() => response(note, { drift: true } as never)).toThrow(/did you mean "checkDrift"/)
    expect(() => response(note, { statuses: [99] })).toThrow(/statuses must be 'success' or a list/)
    expect(() => response({ $ref: '#/nowhere' })).toThrow(/cannot resolve \$ref #\/nowhere/)
  })
})
