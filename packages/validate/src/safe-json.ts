import { type ApiError, BadRequest } from '@apiward/errors'

/** The structural limits a parsed JSON value must keep (see `jsonBody()`). */
export interface JsonLimits {
  readonly maxDepth: number
  readonly maxKeys: number
  readonly maxArrayLength: number
  readonly allowUnsafeNumbers: boolean
}

const malformed = () =>
  new BadRequest({ code: 'request.malformed_body', detail: 'The request body is not valid JSON.' })

const complex = (what: string) =>
  new BadRequest({ code: 'validation.body_too_complex', detail: `The request body ${what}.` })

const forbiddenKey = (pointer: string) =>
  new BadRequest({
    code: 'validation.forbidden_key',
    detail:
      'The request body has a key that could change object prototypes (__proto__, constructor.prototype).',
    errors: [{ pointer, message: 'must not be a prototype key', code: 'forbiddenKey' }],
  })

const unsafeNumber = (pointer: string) =>
  new BadRequest({
    code: 'validation.unsafe_number',
    detail:
      'The request body has a number that cannot be represented exactly (not finite, or a whole number beyond 2^53 - 1).',
    errors: [
      { pointer, message: 'must be a finite number within the safe integer range', code: 'unsafeNumber' },
    ],
  })

const decoder = new TextDecoder('utf-8', { fatal: true })

/**
 * Parses a JSON body from its bytes: strict UTF-8, then V8's `JSON.parse` (iterative, so a deep
 * document cannot exhaust the stack), then {@link checkJsonValue}. Neither the input nor the
 * parser's message reaches the error: a message that quotes the body would echo what a client
 * sent, secrets included, into logs and answers.
 */
export function parseJsonBytes(bytes: Uint8Array, limits: JsonLimits): unknown {
  let text: string
  try {
    text = decoder.decode(bytes)
  } catch {
    throw malformed()
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw malformed()
  }
  const refused = checkJsonValue(value, limits)
  if (refused !== undefined) throw refused
  return value
}

const escapeKey = (key: string) => key.replaceAll('~', '~0').replaceAll('/', '~1')

/**
 * Walks a parsed JSON value without recursion (an explicit stack), before anything recursive
 * touches it (`JSON.stringify`, ajv on recursive schemas, projections, log redaction), and
 * returns the 400 it deserves, or `undefined`:
 * - nesting deeper than `maxDepth`, an object with more than `maxKeys` keys, an array longer
 *   than `maxArrayLength`: `validation.body_too_complex`;
 * - a `__proto__` key, or a `constructor` key whose value has a `prototype` key (the
 *   secure-json-parse rule): `validation.forbidden_key`. `JSON.parse` makes them plain own
 *   properties, but the first `Object.assign` or deep merge of the handler would change a
 *   prototype;
 * - a number that is not finite (`1e309` parses as `Infinity`) or a whole number beyond
 *   `Number.MAX_SAFE_INTEGER` (its digits were already rounded away): `validation.unsafe_number`,
 *   unless `allowUnsafeNumbers`.
 */
export function checkJsonValue(root: unknown, limits: JsonLimits): ApiError | undefined {
  if (typeof root !== 'object' || root === null) return checkScalar(root, '', limits)
  const values: unknown[] = [root]
  const depths: number[] = [1]
  const paths: string[] = ['']
  while (values.length > 0) {
    const value = values.pop() as object
    const depth = depths.pop()!
    const path = paths.pop()!
    if (depth > limits.maxDepth) return complex(`is nested deeper than ${limits.maxDepth} levels`)
    if (Array.isArray(value)) {
      if (value.length > limits.maxArrayLength) {
        return complex(`has an array longer than ${limits.maxArrayLength} elements`)
      }
      for (let i = 0; i < value.length; i++) {
        const item: unknown = value[i]
        if (typeof item === 'object' && item !== null) {
          values.push(item)
          depths.push(depth + 1)
          paths.push(`${path}/${i}`)
        } else {
          const refused = checkScalar(item, `${path}/${i}`, limits)
          if (refused !== undefined) return refused
        }
      }
      continue
    }
    const keys = Object.keys(value)
    if (keys.length > limits.maxKeys) return complex(`has an object with more than ${limits.maxKeys} keys`)
    for (const key of keys) {
      const item: unknown = (value as Record<string, unknown>)[key]
      if (key === '__proto__') return forbiddenKey(`${path}/${escapeKey(key)}`)
      if (typeof item === 'object' && item !== null) {
        if (key === 'constructor' && Object.hasOwn(item, 'prototype')) {
          return forbiddenKey(`${path}/constructor/prototype`)
        }
        values.push(item)
        depths.push(depth + 1)
        paths.push(`${path}/${escapeKey(key)}`)
      } else {
        const refused = checkScalar(item, `${path}/${escapeKey(key)}`, limits)
        if (refused !== undefined) return refused
      }
    }
  }
  return undefined
}

function checkScalar(value: unknown, pointer: string, limits: JsonLimits): ApiError | undefined {
  if (typeof value !== 'number' || limits.allowUnsafeNumbers) return undefined
  if (!Number.isFinite(value)) return unsafeNumber(pointer)
  if (Number.isInteger(value) && !Number.isSafeInteger(value)) return unsafeNumber(pointer)
  return undefined
}
