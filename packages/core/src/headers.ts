import { warnOnce } from './warn.js'

/**
 * Response headers computed once, at startup: lower-case names (Node then makes no new string per
 * header) and string values, set with one `ctx.setHeaders(list)` call per request.
 */
export type HeaderList = readonly (readonly [name: string, value: string])[]

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
// RFC 9110 §5.5: field values are visible characters, spaces and tabs; no CR, LF or NUL.
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/

/**
 * Builds a {@link HeaderList} from a record or pairs, checking every name and value once so the
 * per-request work is only Node's own `setHeader`. A bad name or value is a `TypeError` naming it.
 *
 * @example
 * ```ts
 * const SECURE = headerList({ 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' })
 * const guard = defineGuard((ctx) => ctx.setHeaders(SECURE), { guardName: 'secureHeaders' })
 * ```
 */
export function headerList(
  headers: Readonly<Record<string, string>> | Iterable<readonly [string, string]>,
  where = 'headerList()',
): HeaderList {
  const pairs =
    Symbol.iterator in Object(headers)
      ? [...(headers as Iterable<readonly [string, string]>)]
      : Object.entries(headers as Record<string, string>)
  const list: (readonly [string, string])[] = []
  for (const [name, value] of pairs) {
    if (typeof name !== 'string' || !TOKEN.test(name)) {
      throw new TypeError(`${where}: ${JSON.stringify(name)} is not a header name`)
    }
    if (typeof value !== 'string' || !FIELD_VALUE.test(value)) {
      throw new TypeError(`${where}: the value of ${name} must be a string without control characters`)
    }
    list.push([interned(name.toLowerCase()), interned(value)] as const)
  }
  // The list is frozen, its pairs are typed read-only: V8 reads a frozen pair's items through a
  // slower path, on every header of every request.
  return Object.freeze(list)
}

/**
 * The string table's copy of a string: flat and of one representation, like the literals of the
 * code. Header values built at startup come as concatenations or slices, and a WHATWG `Headers`
 * (Hono, fetch handlers) checks each value character by character at a call site V8 then sees
 * with too many string representations to keep fast.
 */
const interned = (text: string): string => Object.keys({ [text]: 0 })[0]!

// The lower-case form of the first header names guards set (their own constants, the same on
// every request): a comparison with each costs less than `toLowerCase()`, a call into the runtime,
// and the form is the string table's copy, as `headerList()` keeps its names.
const NAMES: string[] = []
const LOWER: string[] = []
const NAMES_KEPT = 32

/** A header name in lower case, as the context and the bindings keep names. */
export function headerName(name: string): string {
  for (let i = 0; i < NAMES.length; i++) if (NAMES[i] === name) return LOWER[i]!
  const lower = name.toLowerCase()
  if (NAMES.length >= NAMES_KEPT) return lower
  const kept = interned(lower)
  NAMES.push(name)
  LOWER.push(kept)
  return kept
}

/**
 * Merges list-header members into an existing value (`Vary: Accept` plus `Origin` is
 * `Accept, Origin`): members already present, compared case-insensitively, are not repeated, and a
 * `*` stays alone (`Vary: *` already varies on everything).
 */
export function mergeListHeader(existing: unknown, additions: readonly string[]): string {
  // The usual case, one member and no header yet (`Vary: Origin` from CORS): nothing to merge.
  if ((existing === undefined || existing === null) && additions.length === 1) {
    const only = additions[0]!
    if (!only.includes(',')) {
      const member = only.trim()
      if (member !== '') return member
    }
  }
  const current =
    existing === undefined || existing === null
      ? []
      : (Array.isArray(existing) ? existing.join(',') : String(existing))
          .split(',')
          .map((m) => m.trim())
          .filter((m) => m !== '')
  if (current.includes('*')) return '*'
  const seen = new Set(current.map((m) => m.toLowerCase()))
  for (const addition of additions) {
    for (const raw of addition.split(',')) {
      const member = raw.trim()
      if (member === '' || seen.has(member.toLowerCase())) continue
      if (member === '*') return '*'
      seen.add(member.toLowerCase())
      current.push(member)
    }
  }
  return current.join(', ')
}

/** The response headers at send time, as the adapter lends them to `applySendHeaders`. */
export interface SendHeaders {
  getHeader(name: string): unknown
  setHeader(name: string, value: string): void
  removeHeader(name: string): void
}

/** Validates a list-header member at request time; a bad one is dropped with a warning, never sent. */
export function checkedMember(name: string, value: string): boolean {
  if (typeof value === 'string' && FIELD_VALUE.test(value)) return true
  warnOnce(
    'APIWARD_BAD_HEADER_VALUE',
    `A guard appended a value to ${name} that is not a string without control characters; it was not sent.`,
    'core.md#headers',
  )
  return false
}
