import {
  booleanOption,
  checkOptions,
  compose,
  createKey,
  defineGuard,
  type Guard,
  type KnownOptions,
  kDeprecation,
  type SecurityContext,
  type StateKey,
} from '@apiward/core'
import { MethodNotAllowed, NotFound } from '@apiward/errors'
import { dereference, validate as validateDocument } from '@readme/openapi-parser'
import { type RegExpEngine, SchemaCompiler } from './compiler.js'
import {
  type JsonBodyOptions,
  type JsonBodySettings,
  jsonBodySettings,
  kParsedBody,
  readJsonBody,
} from './json-body.js'
import { OPENAPI_FORMATS, OPENAPI_KEYWORDS, toJsonSchema } from './openapi-schema.js'
import { compileResponse, filterBody, type ResponseFilter } from './response.js'
import type { JsonSchema } from './schema-type.js'
import {
  checkPart,
  compilePart,
  compilerOptions,
  inputOf,
  noBody,
  type PartCheck,
  store,
} from './validate.js'

/** Options of {@link openapi}. */
export interface OpenApiOptions {
  /**
   * What happens to a request the document does not describe: `'refuse'` answers it as an
   * unknown route (404 `route.not_found`, or 405 `route.method_not_allowed` with `Allow` when the
   * path is described with other methods); `'pass'` lets it through unchecked. Default
   * `'refuse'`: an endpoint nobody documented is not served by accident.
   */
  unknownRoutes?: 'refuse' | 'pass'
  /**
   * A prefix the document's paths are served under (`/v1`), removed before matching. Default
   * `''`.
   */
  basePath?: string
  /**
   * Filter 2xx response bodies to what the operation's response schema declares. Default `true`.
   */
  filterResponses?: boolean
  /** Validate filtered responses and report mismatches as `validation.response_drift` events. Default `false`. */
  checkDrift?: boolean
  /**
   * Resolve `$ref`s to other files and URLs. Default `false`: only references inside the document
   * are followed, so loading it never reads another file or fetches a URL.
   */
  externalRefs?: boolean
  /** See `validate()`. Default `false`. */
  allErrors?: boolean
  /** See `validate()`. Default 10. */
  maxErrors?: number
  /** See `validate()`. Default `false`. */
  removeAdditional?: boolean
  /** See `validate()`. Default `true`. */
  useDefaults?: boolean
  /** See `validate()`. Default: JavaScript's `RegExp`. */
  regExp?: RegExpEngine
  /** How JSON request bodies are read (`jsonBody()` options), or `false` to take the framework's. Default `{}`. */
  json?: JsonBodyOptions | false
}

const OPTIONS: KnownOptions<OpenApiOptions> = {
  unknownRoutes: true,
  basePath: true,
  filterResponses: true,
  checkDrift: true,
  externalRefs: true,
  allErrors: true,
  maxErrors: true,
  removeAdditional: true,
  useDefaults: true,
  regExp: true,
  json: true,
}
const MISTAKES: Readonly<Record<string, string>> = {
  apiSpec: 'the document, as the first argument',
  validateRequests: 'openapi() always validates requests',
  validateResponses: 'checkDrift',
  ignoreUndocumented: "unknownRoutes: 'pass'",
  ignorePaths: "unknownRoutes: 'pass'",
}

/** The operation of the document a request reached. */
export interface OpenApiOperation {
  readonly method: string
  /** The path template of the document, e.g. `/notes/{id}`. */
  readonly path: string
  readonly operationId: string | undefined
  readonly deprecated: boolean
}

/** The operation a request reached, set by `openapi()`; handlers read it with the adapter's `stateOf()`. */
export const kOperation: StateKey<OpenApiOperation> = createKey<OpenApiOperation>('validate.operation')

/** The guard `openapi()` resolves to, with the operations it derived. */
export type OpenApiGuard = Guard & { readonly operations: readonly OpenApiOperation[] }

interface Compiled {
  readonly operation: OpenApiOperation
  readonly parts: readonly PartCheck[]
  readonly body: PartCheck | undefined
  readonly bodyRequired: boolean
  readonly responses: ReadonlyMap<string, ResponseFilter>
}

interface Route {
  readonly segments: readonly (string | null)[]
  readonly names: readonly string[]
  readonly literals: number
  readonly methods: Map<string, Compiled>
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const
const IGNORED_HEADERS = new Set(['accept', 'content-type', 'authorization'])
const JSON_TYPE = /^application\/(?:[a-z0-9.-]+\+)?json$/i

type Obj = Record<string, any>
const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)

function jsonSchemaOf(content: unknown): unknown {
  if (!isObject(content)) return undefined
  const type = Object.keys(content).find((t) => JSON_TYPE.test(t.split(';')[0]!.trim()))
  return type === undefined ? undefined : (content[type]?.schema ?? true)
}

function parametersSchema(
  list: readonly Obj[],
  where: 'path' | 'query' | 'header',
  v30: boolean,
): JsonSchema | undefined {
  const own = list.filter(
    (p) => p.in === where && !(where === 'header' && IGNORED_HEADERS.has(String(p.name).toLowerCase())),
  )
  if (own.length === 0)
    return where === 'query' ? { type: 'object', properties: {}, additionalProperties: false } : undefined
  const properties: Obj = {}
  const required: string[] = []
  for (const p of own) {
    const name = where === 'header' ? String(p.name).toLowerCase() : String(p.name)
    properties[name] = toJsonSchema(p.schema ?? jsonSchemaOf(p.content) ?? { type: 'string' }, v30)
    if (p.required === true || where === 'path') required.push(name)
  }
  return {
    type: 'object',
    properties,
    required,
    ...(where === 'query' ? { additionalProperties: false } : {}),
  }
}

function templateOf(path: string, basePath: string): Pick<Route, 'segments' | 'names' | 'literals'> {
  const names: string[] = []
  const segments = (basePath + path).split('/').map((segment) => {
    const param = /^\{([^}]+)\}$/.exec(segment)
    if (param === null) return segment
    names.push(param[1]!)
    return null
  })
  return { segments, names, literals: segments.filter((s) => s !== null).length }
}

/**
 * The parameters of a request path if it is one of the route's, compared as the serving router
 * compares: literal segments decoded (Fastify's router decodes `/no%74es` to `/notes`) and, where
 * the router ignores case, without it, so no spelling reaches a handler past an unchecked
 * `unknownRoutes: 'pass'`.
 */
function match(
  route: Route,
  segments: readonly string[],
  caseSensitive: boolean,
): Record<string, string> | undefined {
  if (route.segments.length !== segments.length) return undefined
  const params: Record<string, string> = Object.create(null)
  let n = 0
  for (let i = 0; i < segments.length; i++) {
    const expected = route.segments[i] ?? null
    const segment = segments[i]!
    // An empty segment is a parameter too (find-my-way routes `/notes/` to `/notes/:id`): its schema decides.
    if (expected === null) params[route.names[n++]!] = segment
    else if (caseSensitive ? expected !== segment : expected.toLowerCase() !== segment.toLowerCase()) {
      return undefined
    }
  }
  return params
}

/** The decoded segments of the request path, with a trailing slash dropped where the router ignores it. */
function segmentsOf(ctx: SecurityContext): string[] {
  // Reading the normalised path refuses malformed percent-encoding (400 request.invalid_path).
  void ctx.req.path
  const raw = ctx.req.rawPath.split('/')
  if (!ctx.req.routing.strictSlash && raw.length > 2 && raw[raw.length - 1] === '') raw.pop()
  return raw.map((segment) => (segment.includes('%') ? decodeURIComponent(segment) : segment))
}

/** Loads and checks an OpenAPI document: parsed (YAML or JSON), validated, `$ref`s resolved. */
async function load(document: string | object, externalRefs: boolean): Promise<Obj> {
  const where = 'openapi()'
  const source = typeof document === 'string' ? document : structuredClone(document)
  const options = {
    resolve: { external: externalRefs },
    dereference: { circular: false },
  }
  let checked: Awaited<ReturnType<typeof validateDocument>>
  try {
    checked = await validateDocument(
      (typeof source === 'string' ? source : structuredClone(source)) as never,
      options,
    )
  } catch (err) {
    throw new TypeError(`${where}: the document cannot be loaded: ${(err as Error).message}`)
  }
  if (!checked.valid) {
    const first = checked.errors
      .slice(0, 3)
      .map((e) => e.message)
      .join('; ')
    throw new TypeError(`${where}: the document is not a valid OpenAPI document: ${first}`)
  }
  try {
    return (await dereference(source as never, options as never)) as Obj
  } catch (err) {
    throw new TypeError(
      `${where}: the document's $refs cannot be resolved (circular references are not supported): ${(err as Error).message}`,
    )
  }
}

/**
 * Validates every request against an OpenAPI 3.0 or 3.1 document (YAML or JSON, a file path or
 * an object), loaded, checked and `$ref`-resolved once: for each operation, its path, query and
 * header parameters (unknown query parameters refused) and its JSON request body are validated
 * as `validate()` does, and its 2xx JSON responses filtered to what they declare. A deprecated
 * operation sets core's `kDeprecation`, which headers' `apiVersion()` announces. A request the
 * document does not describe is refused as an unknown route unless `unknownRoutes: 'pass'`.
 *
 * The result is one guard: mount it app-wide, before the routes.
 *
 * @example
 * ```ts
 * const api = await openapi('./openapi.yaml')
 * app.use(guard(api))                                // Express, Koa, Hono
 * await app.register(apiward, { guards: [api] })     // Fastify
 * ```
 */
export async function openapi(
  document: string | object,
  options: OpenApiOptions = {},
): Promise<OpenApiGuard> {
  const where = 'openapi()'
  if (typeof document !== 'string' && !isObject(document)) {
    throw new TypeError(`${where}: document must be a file path or an OpenAPI document object`)
  }
  checkOptions<OpenApiOptions>(options, where, OPTIONS, MISTAKES, "{ unknownRoutes: 'refuse' }")
  const unknownRoutes = options.unknownRoutes ?? 'refuse'
  if (unknownRoutes !== 'refuse' && unknownRoutes !== 'pass') {
    throw new TypeError(`${where}: unknownRoutes must be 'refuse' or 'pass'`)
  }
  const basePath = (options.basePath ?? '').replace(/\/+$/, '')
  if (typeof basePath !== 'string' || (basePath !== '' && !basePath.startsWith('/'))) {
    throw new TypeError(`${where}: basePath must be a path starting with '/', e.g. '/v1'`)
  }
  const filterResponses = booleanOption(options.filterResponses, 'filterResponses', where, true)
  const checkDrift = booleanOption(options.checkDrift, 'checkDrift', where, false)
  const externalRefs = booleanOption(options.externalRefs, 'externalRefs', where, false)
  const json: JsonBodySettings | undefined =
    options.json === false ? undefined : jsonBodySettings(options.json ?? {}, `${where}: json`)
  const doc = await load(document, externalRefs)
  const version = String(doc.openapi ?? '')
  if (!/^3\.[01]\./.test(version)) {
    throw new TypeError(
      `${where}: only OpenAPI 3.0 and 3.1 documents are supported, got ${version || 'none'}`,
    )
  }
  const v30 = version.startsWith('3.0')
  const compiler = new SchemaCompiler({
    ...compilerOptions(options, where),
    keywords: OPENAPI_KEYWORDS,
    formats: OPENAPI_FORMATS,
  })
  const routes: Route[] = []
  const operations: OpenApiOperation[] = []
  for (const [path, item] of Object.entries((doc.paths ?? {}) as Obj)) {
    if (!isObject(item)) continue
    const route: Route = { ...templateOf(path, basePath), methods: new Map() }
    for (const method of METHODS) {
      const op = item[method]
      if (!isObject(op)) continue
      const name = `${where}: ${method.toUpperCase()} ${path}`
      const byKey = new Map<string, Obj>()
      for (const p of [...(item.parameters ?? []), ...(op.parameters ?? [])] as Obj[])
        byKey.set(`${p.in}:${p.name}`, p)
      const list = [...byKey.values()]
      const parts: PartCheck[] = []
      for (const [part, at] of [
        ['params', 'path'],
        ['query', 'query'],
        ['headers', 'header'],
      ] as const) {
        const schema = parametersSchema(list, at, v30)
        if (schema !== undefined) parts.push(compilePart(compiler, part, schema, name, false))
      }
      const bodySchema = jsonSchemaOf(op.requestBody?.content)
      const body =
        bodySchema === undefined
          ? undefined
          : compilePart(compiler, 'body', toJsonSchema(bodySchema, v30), name, false)
      const responses = new Map<string, ResponseFilter>()
      if (filterResponses) {
        for (const [status, answer] of Object.entries((op.responses ?? {}) as Obj)) {
          const schema = jsonSchemaOf(answer?.content)
          if (schema === undefined || !/^(?:2\d\d|2XX|default)$/i.test(status)) continue
          responses.set(
            status.toUpperCase(),
            compileResponse(toJsonSchema(schema, v30) as JsonSchema, checkDrift, options.regExp, name),
          )
        }
      }
      const operation: OpenApiOperation = Object.freeze({
        method: method.toUpperCase(),
        path,
        operationId: typeof op.operationId === 'string' ? op.operationId : undefined,
        deprecated: op.deprecated === true,
      })
      operations.push(operation)
      route.methods.set(operation.method, {
        operation,
        parts,
        body,
        bodyRequired: op.requestBody?.required === true,
        responses,
      })
    }
    routes.push(route)
  }
  // Literal segments win over templated ones (`/notes/mine` before `/notes/{id}`).
  routes.sort((a, b) => b.literals - a.literals)
  const kCompiled = createKey<Compiled>('validate.openapiOperation')
  const kParams = createKey<Record<string, string>>('validate.openapiParams')

  const respond = (body: unknown, ctx: SecurityContext, status: number) => {
    const compiled = ctx.get(kCompiled)
    if (compiled === undefined || status < 200 || status > 299) return body
    const filter =
      compiled.responses.get(String(status)) ??
      compiled.responses.get('2XX') ??
      compiled.responses.get('DEFAULT')
    return filter === undefined ? body : filterBody(ctx, filter, body, status)
  }

  const find = (ctx: SecurityContext): Compiled | undefined => {
    const segments = segmentsOf(ctx)
    const caseSensitive = ctx.req.routing.caseSensitive
    const allowed: string[] = []
    for (const route of routes) {
      const params = match(route, segments, caseSensitive)
      if (params === undefined) continue
      const method = ctx.req.method
      const compiled = route.methods.get(method) ?? (method === 'HEAD' ? route.methods.get('GET') : undefined)
      if (compiled !== undefined) {
        ctx.set(kParams, params)
        return compiled
      }
      allowed.push(...route.methods.keys())
    }
    if (unknownRoutes === 'pass') return undefined
    if (allowed.length > 0) throw new MethodNotAllowed([...new Set(allowed)])
    throw new NotFound()
  }
  const input = defineGuard(
    (ctx) => {
      const compiled = find(ctx)
      if (compiled === undefined) return
      ctx.set(kCompiled, compiled)
      ctx.set(kOperation, compiled.operation)
      if (compiled.operation.deprecated) ctx.set(kDeprecation, { since: true })
      for (const part of compiled.parts) {
        const value = part.part === 'params' ? { ...ctx.get(kParams) } : inputOf(ctx, part)
        checkPart(ctx, compiler, part, value)
        store(ctx, part.part, value)
      }
      if (compiled.responses.size > 0) ctx.onSend(respond)
    },
    {
      guardName: 'openapi',
      kind: 'validation',
      settings: { operations: operations.length, unknownRoutes, filterResponses, checkDrift },
    },
  )
  const guards: Guard[] = [input]
  if (json !== undefined) {
    guards.push(
      defineGuard(
        (ctx) => {
          if (ctx.get(kCompiled)?.body === undefined) return
          return readJsonBody(ctx, json)
        },
        {
          guardName: 'openapi.jsonBody',
          readsRawBody: true,
          kind: 'validation',
          settings: { limit: json.limit },
        },
      ),
    )
  }
  guards.push(
    defineGuard(
      (ctx) => {
        const compiled = ctx.get(kCompiled)
        if (compiled?.body === undefined) return
        const parsed = ctx.get(kParsedBody)
        const value = parsed === undefined ? ctx.req.body : parsed.value
        if (value === undefined) {
          if (compiled.bodyRequired) throw noBody(ctx)
          return
        }
        checkPart(ctx, compiler, compiled.body, value)
        store(ctx, 'body', value)
      },
      { guardName: 'openapi.body', needsBody: true, kind: 'validation' },
    ),
  )
  return Object.assign(compose(...guards), { operations: Object.freeze(operations) })
}
