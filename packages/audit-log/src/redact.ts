/**
 * Redaction and escaping of everything the audit log writes. Keys and patterns are compiled once,
 * when the log is built; per value the work is a key test and, for strings, one pattern scan.
 */

/** How values are redacted; built once from the `redact` option. */
export interface RedactOptions {
  /**
   * Further field names (any depth, any case) whose values are replaced by `censor`, in addition
   * to the built-in ones (`authorization`, `cookie`, `set-cookie`, `x-api-key`,
   * `proxy-authorization`, and names containing `password`, `passwd`, `secret`, `token`, `api_key`,
   * `apikey`, `private_key`, `session`). Default: none beyond the built-in ones, which cannot be
   * turned off.
   */
  keys?: readonly string[]
  /**
   * Further patterns redacted inside any string (the match is replaced by `censor`), in addition to
   * JWT-shaped and API-key-shaped strings, `Bearer`/`Basic` credentials and token query parameters.
   * They are matched case-insensitively. Default: none beyond the built-in ones.
   */
  patterns?: readonly RegExp[]
  /** What replaces a redacted value. Default `'[REDACTED]'`. */
  censor?: string
}

/** Header and field names whose values are always secrets. */
const SENSITIVE_KEY =
  /^(?:authorization|proxy-authorization|cookie|set-cookie|x-api-key|pwd|pin|otp|cvv)$|pass(?:word|wd|phrase)|secret|token|api[-_]?key|private[-_]?key|session|signature|credentials$/i

/**
 * Secrets recognised by their shape inside any text: a JWT or JWE, an `Authorization` credential,
 * an API key (`<prefix>_<id>_<secret>`, `sk_live_...`, GitHub and AWS keys), and the value of a
 * token-bearing query or form parameter.
 */
const SECRET_SHAPES = [
  /eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}(?:\.[A-Za-z0-9_-]*){1,3}/g,
  /\b(?:Bearer|Basic|Digest|DPoP|Token|ApiKey|Negotiate)\s+[A-Za-z0-9._~+/=-]{6,}/gi,
  /\b[a-z][a-z0-9]{0,15}(?:_[a-z0-9]{1,15}){0,3}_[A-Za-z0-9]{6,}_[A-Za-z0-9]{16,}\b/g,
  /\b(?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]{10,}\b/g,
  /\bgh[pousr]_[A-Za-z0-9]{20,}\b/g,
  /\bAKIA[0-9A-Z]{16}\b/g,
  /(?:access_token|refresh_token|id_token|token|api_key|apikey|client_secret|password|secret|code)=[^&#\s"]*/gi,
]

/**
 * What every built-in secret shape contains somewhere: `eyJ`, white space, `_`, `=` or `AKIA`. A
 * string without any of them (most request IDs, paths, IPs) skips the scan for the shapes; with
 * patterns of the user's own, every string is scanned.
 */
const MAY_HOLD_SECRET = /[_=\s]|eyj|akia/i

/**
 * Characters that JSON leaves as they are but that split lines or fool a terminal or a log
 * viewer: DEL and the C1 controls (U+0085 NEL, U+009B CSI), the Unicode line and paragraph
 * separators, zero-width and bidirectional formatting characters, and the BOM. JSON already
 * escapes CR, LF, ESC and every other C0 control.
 */
const UNSAFE_IN_JSON = /[\u007f-\u009f\u00ad\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g

const escapeChar = (c: string): string => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`

/**
 * Escapes what `JSON.stringify` leaves raw but a reader of the log must not see raw (see
 * `UNSAFE_IN_JSON`): the result parses to the same value and holds one line of printable text.
 */
export function escapeJson(json: string): string {
  UNSAFE_IN_JSON.lastIndex = 0
  return UNSAFE_IN_JSON.test(json) ? json.replace(UNSAFE_IN_JSON, escapeChar) : json
}

/** `UNSAFE_IN_JSON` without the global flag, for a test that keeps no state. */
const HAS_UNSAFE = new RegExp(UNSAFE_IN_JSON.source)

/** What {@link plainness} found: a string that needs a scan, or one that needs none, quoted as it is or not. */
const Plain = {
  No: 0,
  /** Needs no scan, but holds `"` or a backslash, which JSON escapes. */
  Yes: 1,
  /** Needs no scan and is its own JSON text between quotes. */
  Quotable: 2,
} as const
type Plain = (typeof Plain)[keyof typeof Plain]

/**
 * Whether a string can be logged as it is without a scan: printable ASCII only, without `_`, `=`,
 * white space, `eyJ` or `AKIA` in any case. That is narrower than `MAY_HOLD_SECRET` and
 * `HAS_UNSAFE` together (any other character sends the string to them), and one pass over its
 * characters costs less than a regular expression's call for the short strings most fields hold.
 * The same pass says whether JSON would escape any of its characters.
 */
function plainness(text: string): Plain {
  let found: Plain = Plain.Quotable
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c <= 32 || c >= 127 || c === 95 || c === 61) return Plain.No
    if (c === 34 || c === 92) found = Plain.Yes
    const lower = c | 32
    if (lower === 101 && (text.charCodeAt(i + 1) | 32) === 121 && (text.charCodeAt(i + 2) | 32) === 106)
      return Plain.No
    if (
      lower === 97 &&
      (text.charCodeAt(i + 1) | 32) === 107 &&
      (text.charCodeAt(i + 2) | 32) === 105 &&
      (text.charCodeAt(i + 3) | 32) === 97
    )
      return Plain.No
  }
  return found
}

/**
 * A string as a JSON string literal, the same text `JSON.stringify` gives: quoted as it is when it
 * holds only printable ASCII without `"` or a backslash, which is what most fields hold.
 */
export function quote(text: string): string {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c < 32 || c > 126 || c === 34 || c === 92) return JSON.stringify(text)
  }
  return `"${text}"`
}

/** How many distinct repeated values `label()` remembers, and how long each may be. */
const LABELS = 512
const LABEL_LENGTH = 256

/** Depth, key and item bounds of one value: a huge or cyclic event costs a bounded amount. */
const MAX_DEPTH = 6
const MAX_ITEMS = 100

/** The redactor of one audit log: its censor, keys, patterns and length limit, compiled. */
export class Redactor {
  readonly censor: string
  readonly maxLength: number
  readonly #keys: RegExp
  readonly #shapes: RegExp
  readonly #mayHold: RegExp | undefined
  readonly #labels = new Map<string, string>()
  /** Per field of a line (`labelIn()`), the last value remembered and its text. */
  readonly #lastIn: (string | undefined)[] = []
  readonly #lastOut: string[] = []
  /** Per field of a line (`quotedIn()`), the last value remembered and its quoted text. */
  readonly #quotedIn: (string | undefined)[] = []
  readonly #quotedOut: string[] = []
  /** Whether the last `label()` remembered its value. */
  #remembered = false
  #unsafe = false
  readonly #censorUnsafe: boolean

  constructor(options: RedactOptions, maxLength: number) {
    this.censor = options.censor ?? '[REDACTED]'
    this.#censorUnsafe = HAS_UNSAFE.test(this.censor)
    this.maxLength = maxLength
    const extra = (options.keys ?? []).map((k) => `^${k.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`)
    this.#keys =
      extra.length === 0 ? SENSITIVE_KEY : new RegExp(`${SENSITIVE_KEY.source}|${extra.join('|')}`, 'i')
    // One scan per string, case-insensitive: a secret in odd case is still a secret.
    const shapes = [...SECRET_SHAPES, ...(options.patterns ?? [])].map((p) => `(?:${p.source})`)
    this.#shapes = new RegExp(shapes.join('|'), 'gi')
    this.#mayHold =
      options.patterns === undefined || options.patterns.length === 0 ? MAY_HOLD_SECRET : undefined
  }

  /** Whether a field name holds a secret. */
  isSecretKey(key: string): boolean {
    return this.#keys.test(key)
  }

  /**
   * `text()` of a value that repeats from line to line (an event type, a method, a route, a
   * principal, an IP, a user agent): remembered for the last {@link LABELS} distinct values, so a
   * repeated one costs a lookup instead of a pattern scan.
   */
  label(value: string): string {
    this.#remembered = false
    if (value.length > LABEL_LENGTH) return this.text(value)
    const known = this.#labels.get(value)
    if (known !== undefined) {
      this.#remembered = true
      return known
    }
    const text = this.text(value)
    // A value JSON leaves unsafe is not remembered, so every line that holds it is escaped.
    if (HAS_UNSAFE.test(text)) return text
    if (this.#labels.size >= LABELS) this.#labels.clear()
    this.#labels.set(value, text)
    this.#remembered = true
    return text
  }

  /**
   * `label()` of the field `slot` of a line: the field's last remembered value is compared first,
   * which costs less than the lookup when the value repeats from one line to the next (a method, a
   * route, a server's one credential kind).
   */
  labelIn(slot: number, value: string): string {
    if (this.#lastIn[slot] === value) return this.#lastOut[slot]!
    const text = this.label(value)
    if (this.#remembered) {
      this.#lastIn[slot] = value
      this.#lastOut[slot] = text
    }
    return text
  }

  /** `quote(label(value))` for the field `slot` of a line, its last value remembered as `labelIn()` does. */
  quotedIn(slot: number, value: string): string {
    if (this.#quotedIn[slot] === value) return this.#quotedOut[slot]!
    const quoted = quote(this.label(value))
    if (this.#remembered) {
      this.#quotedIn[slot] = value
      this.#quotedOut[slot] = quoted
    }
    return quoted
  }

  /**
   * `quote(text(value))`, in one pass over the characters for a short string that needs no scan
   * (a request ID, a path: see {@link plainness}).
   */
  quoted(value: string): string {
    if (value.length <= this.maxLength && this.#mayHold !== undefined) {
      const plain = plainness(value)
      if (plain === Plain.Quotable) return `"${value}"`
      if (plain === Plain.Yes) return JSON.stringify(value)
    }
    return quote(this.text(value))
  }

  /**
   * Whether a string `text()` returned since the last call holds a character `escapeJson` escapes;
   * the flag is cleared. Every string of an event's record goes through `text()`, so a record
   * none of whose strings did needs no escape pass over its whole line.
   */
  takeUnsafe(): boolean {
    const unsafe = this.#unsafe
    this.#unsafe = false
    // The censor stands in for values without going through `text()`.
    return unsafe || this.#censorUnsafe
  }

  /**
   * A string as it may be logged: secrets by shape replaced by the censor, then cut to the length
   * limit with the original length recorded (`…[truncated, 20000 chars]`).
   */
  text(value: string): string {
    const max = this.maxLength
    // Scanning a megabyte of attacker text for secrets would cost more than the request.
    if (value.length <= max && this.#mayHold !== undefined && plainness(value) !== Plain.No) return value
    let s = value.length > max * 8 ? value.slice(0, max * 8) : value
    const mayHold = this.#mayHold
    if (mayHold === undefined || mayHold.test(s)) {
      this.#shapes.lastIndex = 0
      if (this.#shapes.test(s)) s = s.replace(this.#shapes, this.censor)
    }
    if (HAS_UNSAFE.test(s)) this.#unsafe = true
    if (s.length <= max && value.length <= max * 8) return s
    let cut = s.length > max ? s.slice(0, max) : s
    const last = cut.charCodeAt(cut.length - 1)
    if (last >= 0xd800 && last <= 0xdbff) cut = cut.slice(0, -1)
    // A token cut at the limit no longer has its shape: drop its start too.
    cut = cut.replace(/eyJ[A-Za-z0-9_.-]*$/, this.censor)
    return `${cut}…[truncated, ${value.length} chars]`
  }

  /** Any value as it may be logged: secrets by key and by shape redacted, bounded in size and depth. */
  value(value: unknown, depth = 0): unknown {
    switch (typeof value) {
      case 'string':
        return this.text(value)
      case 'number':
        return Number.isFinite(value) ? value : String(value)
      case 'boolean':
        return value
      case 'bigint':
        return value.toString()
      case 'object':
        break
      default:
        return undefined
    }
    if (value === null) return null
    if (depth >= MAX_DEPTH) return '[too deep]'
    if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString()
    if (value instanceof Error) {
      const code = (value as { code?: unknown }).code
      return {
        name: this.text(value.name),
        message: this.text(value.message),
        ...(typeof code === 'string' ? { code: this.text(code) } : {}),
      }
    }
    if (ArrayBuffer.isView(value)) return `[${value.byteLength} bytes]`
    if (Array.isArray(value)) return this.#array(value, depth)
    if (value instanceof Map) return this.#entries(value.entries(), value.size, depth)
    if (value instanceof Set) return this.#array([...value].slice(0, MAX_ITEMS + 1), depth)
    return this.#entries(Object.entries(value), Object.keys(value).length, depth)
  }

  #array(items: readonly unknown[], depth: number): unknown[] {
    const out: unknown[] = []
    const n = Math.min(items.length, MAX_ITEMS)
    for (let i = 0; i < n; i++) {
      const item = items[i]
      // Raw header arrays ([name, value, name, value]): the value after a secret header's name.
      const before = i > 0 ? items[i - 1] : undefined
      out.push(
        typeof before === 'string' && this.#keys.test(before) ? this.censor : this.value(item, depth + 1),
      )
    }
    if (items.length > MAX_ITEMS) out.push(`[+${items.length - MAX_ITEMS} items]`)
    return out
  }

  #entries(entries: Iterable<[unknown, unknown]>, size: number, depth: number): Record<string, unknown> {
    const out: Record<string, unknown> = {}
    let count = 0
    for (const [rawKey, item] of entries) {
      if (count++ === MAX_ITEMS) {
        out['[more]'] = `[+${size - MAX_ITEMS} keys]`
        break
      }
      const key = this.text(String(rawKey))
      if (this.#keys.test(key)) out[key] = this.censor
      else {
        const v = this.value(item, depth + 1)
        if (v !== undefined) out[key] = v
      }
    }
    return out
  }
}
