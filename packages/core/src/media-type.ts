// RFC 9110 §8.3.1: type "/" subtype, both tokens, then optional parameters.
const MEDIA_TYPE = /^[!#$%&'*+.^_`|~0-9a-z-]+\/[!#$%&'*+.^_`|~0-9a-z-]+$/

/**
 * The media type of a `Content-Type` value: `type/subtype` in lower case, without parameters
 * (`Application/JSON; charset=utf-8` is `application/json`). `undefined` for a missing or
 * malformed value, which therefore never matches a type a guard expects.
 *
 * @example
 * ```ts
 * mediaTypeOf('application/merge-patch+json; charset=utf-8') // 'application/merge-patch+json'
 * mediaTypeOf('json')                                         // undefined
 * ```
 */
export function mediaTypeOf(contentType: string | undefined): string | undefined {
  if (contentType === undefined) return undefined
  const semi = contentType.indexOf(';')
  const essence = (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase()
  return MEDIA_TYPE.test(essence) ? essence : undefined
}

/**
 * Whether a media type (from `mediaTypeOf`) is one of `patterns`: a full type
 * (`application/json`), a wildcard subtype (`text/*`), or a structured suffix (`+json`, which
 * also matches the plain `application/json`). Patterns are compared in lower case.
 *
 * @example
 * ```ts
 * mediaTypeMatches('application/problem+json', ['+json']) // true
 * mediaTypeMatches('text/plain', ['application/*'])       // false
 * ```
 */
export function mediaTypeMatches(type: string | undefined, patterns: readonly string[]): boolean {
  if (type === undefined) return false
  for (const raw of patterns) {
    const pattern = raw.toLowerCase()
    if (pattern === type) return true
    if (pattern.charCodeAt(0) === 0x2b /* + */) {
      if (type.endsWith(pattern) || type === `application/${pattern.slice(1)}`) return true
    } else if (pattern.endsWith('/*')) {
      if (type.startsWith(pattern.slice(0, -1))) return true
    }
  }
  return false
}
