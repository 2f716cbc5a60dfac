import { type ApiError, BadRequest, type ProblemFieldError } from '@apiward/errors'

/** A JSON Schema violation as ajv (and Fastify, which uses it) reports one. */
export interface SchemaViolation {
  instancePath?: unknown
  keyword?: unknown
  message?: unknown
  params?: { missingProperty?: unknown; additionalProperty?: unknown }
}

function escapePointer(segment: string): string {
  return segment.replaceAll('~', '~0').replaceAll('/', '~1')
}

/**
 * The `errors` of a 400 problem from schema violations: one entry per violation, at most `max`,
 * each with the JSON pointer of the offending value (a missing or additional property named at
 * the end of the pointer), the validator's message (it describes the schema, not the server) and
 * its keyword as `code`. Entries without a message are left out.
 *
 * @example
 * ```ts
 * fieldErrorsOf([{ instancePath: '/owner', keyword: 'required', message: "must have required property 'id'", params: { missingProperty: 'id' } }])
 * // [{ pointer: '/owner/id', message: "must have required property 'id'", code: 'required' }]
 * ```
 */
export function fieldErrorsOf(violations: readonly SchemaViolation[], max = 20): ProblemFieldError[] {
  const out: ProblemFieldError[] = []
  for (const v of violations.slice(0, max)) {
    if (typeof v?.message !== 'string') continue
    let pointer = typeof v.instancePath === 'string' ? v.instancePath : ''
    const property = v.params?.missingProperty ?? v.params?.additionalProperty
    if (typeof property === 'string') pointer += `/${escapePointer(property)}`
    out.push(
      typeof v.keyword === 'string'
        ? { pointer, message: v.message, code: v.keyword }
        : { pointer, message: v.message },
    )
  }
  return out
}

const PARTS: Readonly<Record<string, string>> = {
  body: 'body',
  querystring: 'query string',
  query: 'query string',
  params: 'path parameters',
  headers: 'headers',
}

/**
 * The 400 `validation.rejected` for input that failed schema validation: `part` names what failed
 * (`body`, `query` or `querystring`, `params`, `headers`) in the detail, and every violation is
 * listed with its JSON pointer (`fieldErrorsOf`). `cause` stays internal.
 */
export function schemaViolationError(
  part: unknown,
  violations: readonly SchemaViolation[] | undefined,
  cause?: unknown,
): ApiError {
  const name = typeof part === 'string' ? PARTS[part] : undefined
  return new BadRequest({
    code: 'validation.rejected',
    detail: `The request ${name ?? 'input'} failed validation.`,
    errors: violations === undefined ? undefined : fieldErrorsOf(violations),
    cause,
  })
}
