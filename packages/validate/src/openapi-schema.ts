import type { FormatCheck } from './compiler.js'

type SchemaObject = Record<string, unknown>
const isObject = (v: unknown): v is SchemaObject => typeof v === 'object' && v !== null && !Array.isArray(v)

const INT32 = 2 ** 31
/** The formats OpenAPI defines beyond JSON Schema's. */
export const OPENAPI_FORMATS: Readonly<Record<string, FormatCheck>> = {
  int32: { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= -INT32 && n < INT32 },
  int64: { type: 'number', validate: (n: number) => Number.isInteger(n) },
  float: { type: 'number', validate: (n: number) => Number.isFinite(n) },
  double: { type: 'number', validate: (n: number) => Number.isFinite(n) },
  byte: { type: 'string', validate: /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/ },
  binary: { type: 'string', validate: () => true },
  password: { type: 'string', validate: () => true },
}

/** Annotations OpenAPI schemas may carry, which ajv's strict mode would otherwise refuse. */
export const OPENAPI_KEYWORDS = ['example', 'xml', 'externalDocs', 'discriminator'] as const

const SUBSCHEMA_LISTS = ['allOf', 'anyOf', 'oneOf', 'prefixItems'] as const
const SUBSCHEMAS = [
  'not',
  'items',
  'additionalProperties',
  'if',
  'then',
  'else',
  'contains',
  'propertyNames',
] as const
const SUBSCHEMA_MAPS = ['properties', 'patternProperties', '$defs', 'definitions'] as const

/**
 * An OpenAPI schema as JSON Schema 2020-12: 3.0's `nullable` becomes a `null` type, its boolean
 * `exclusiveMinimum` / `exclusiveMaximum` the numeric form, and specification extensions
 * (`x-...`) are dropped, since ajv's strict mode refuses unknown keywords. A dereferenced
 * document shares objects between its references, so each is converted once.
 */
export function toJsonSchema(schema: unknown, v30: boolean, seen = new Map<object, unknown>()): unknown {
  if (!isObject(schema)) return schema
  const done = seen.get(schema)
  if (done !== undefined) return done
  const out: SchemaObject = {}
  seen.set(schema, out)
  for (const [key, value] of Object.entries(schema)) {
    if (key.startsWith('x-') || key === 'nullable') continue
    if ((SUBSCHEMA_LISTS as readonly string[]).includes(key) && Array.isArray(value)) {
      out[key] = value.map((s) => toJsonSchema(s, v30, seen))
    } else if ((SUBSCHEMAS as readonly string[]).includes(key)) {
      out[key] = Array.isArray(value)
        ? value.map((s) => toJsonSchema(s, v30, seen))
        : toJsonSchema(value, v30, seen)
    } else if ((SUBSCHEMA_MAPS as readonly string[]).includes(key) && isObject(value)) {
      out[key] = Object.fromEntries(Object.entries(value).map(([k, s]) => [k, toJsonSchema(s, v30, seen)]))
    } else out[key] = value
  }
  if (v30) {
    for (const [flag, bound] of [
      ['exclusiveMinimum', 'minimum'],
      ['exclusiveMaximum', 'maximum'],
    ] as const) {
      if (out[flag] === true && typeof out[bound] === 'number') {
        out[flag] = out[bound]
        delete out[bound]
      } else if (out[flag] === false) delete out[flag]
    }
    if (schema.nullable === true) {
      if (typeof out.type === 'string') out.type = [out.type, 'null']
      if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null]
    }
  }
  return out
}
