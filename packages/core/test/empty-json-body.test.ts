import { type BodyFacts, emptyJsonBodyError } from '@apiward/core/adapter'
import { describe, expect, it } from 'vitest'

function facts(
  method: string,
  headers: Record<string, string>,
  stream: { readableEnded?: boolean; readableDidRead?: boolean } = {},
): BodyFacts {
  return { method, headers, readableEnded: false, readableDidRead: false, ...stream }
}

const JSON_TYPE = { 'content-type': 'application/json' }

describe('emptyJsonBodyError', () => {
  it.each([
    ['Content-Length 0', facts('POST', { ...JSON_TYPE, 'content-length': '0' })],
    ['no length at all', facts('PUT', JSON_TYPE)],
    [
      'a chunked body read to its end without a byte',
      facts('PATCH', { ...JSON_TYPE, 'transfer-encoding': 'chunked' }, { readableEnded: true }),
    ],
    [
      'a +json type',
      facts('PATCH', { 'content-type': 'application/merge-patch+json', 'content-length': '0' }),
    ],
    [
      'a JSON type with parameters',
      facts('DELETE', { 'content-type': 'Application/JSON; charset=utf-8', 'content-length': '0' }),
    ],
  ])('refuses %s with a 400 request.malformed_body', (_name, request) => {
    const error = emptyJsonBodyError(request)
    expect(error?.status).toBe(400)
    expect(error?.code).toBe('request.malformed_body')
  })

  it.each([
    ['a body with bytes', facts('POST', { ...JSON_TYPE, 'content-length': '2' })],
    ['a chunked body not read yet', facts('POST', { ...JSON_TYPE, 'transfer-encoding': 'chunked' })],
    [
      'a chunked body that had bytes',
      facts(
        'POST',
        { ...JSON_TYPE, 'transfer-encoding': 'chunked' },
        { readableEnded: true, readableDidRead: true },
      ),
    ],
    ['an empty body of another type', facts('POST', { 'content-type': 'text/plain', 'content-length': '0' })],
    ['an empty body without a type', facts('POST', { 'content-length': '0' })],
    ['a GET that names a JSON type', facts('GET', { ...JSON_TYPE, 'content-length': '0' })],
    ['a HEAD that names a JSON type', facts('HEAD', JSON_TYPE)],
  ])('lets %s through', (_name, request) => {
    expect(emptyJsonBodyError(request)).toBeUndefined()
  })
})
