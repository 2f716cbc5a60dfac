import {
  checkOptions,
  compileProjection,
  defineGuard,
  type Guard,
  type KnownOptions,
  type Principal,
  type Projection,
  type ProjectionTree,
  type SecurityContext,
  type SecurityRequest,
  warnOnce,
} from '@apiward/core'
import { BadRequest, InternalServerError, type ProblemFieldError } from '@apiward/errors'
import { Challenges, realmOption } from './challenge.js'

/**
 * Which properties a principal may write or read: by role name (the key `'*'` applies to every
 * principal, beside its roles' trees, which add up), or a function of the principal. A tree is
 * core's `ProjectionTree`: `true` keeps a property whole, a nested tree only its listed
 * properties, `'*'` every key of a dictionary; arrays take the tree of their elements.
 *
 * @example
 * ```ts
 * const write: FieldRules = { user: { title: true, body: true, tags: true }, admin: { title: true, body: true, tags: true, ownerId: true } }
 * ```
 */
export type FieldRules =
  | Readonly<Record<string, ProjectionTree>>
  | ((principal: Principal) => ProjectionTree | undefined)

/** Options of {@link fields}. */
export interface FieldsOptions {
  /**
   * The body properties each role may write (OWASP API3, mass assignment). A body property not
   * listed for any of the caller's roles, at any depth, answers 400 `validation.rejected` naming
   * each one by JSON pointer (`/isAdmin`, `/items/0/price`). Default: not checked.
   */
  write?: FieldRules
  /**
   * The response properties each role may read: a 2xx JSON body is copied to those properties,
   * recursively (core's projection engine, compiled once per role set). Anything not listed is
   * left out, so a property added later never leaks. Default: not filtered.
   */
  read?: FieldRules
  /** The `realm` of the 401 challenge when no principal is set. Default `'api'` (`jwt()`'s default). */
  realm?: string
}

const OPTIONS: KnownOptions<FieldsOptions> = { write: true, read: true, realm: true }
const MISTAKES = {
  writable: 'write',
  readable: 'read',
  allow: 'write',
  deny: 'write (list what may be written)',
}

/** At most this many refused properties are listed in one answer (the first ones, in body order). */
export const MAX_FIELD_ERRORS = 100
const WILDCARD = '*'
const hasOwn = Object.prototype.hasOwnProperty

type Tree = { readonly [property: string]: true | Tree }
type WriteCheck = (value: unknown, pointer: string, out: ProblemFieldError[]) => void

function escapePointer(segment: string): string {
  return segment.replaceAll('~', '~0').replaceAll('/', '~1')
}

/** The union of two trees: a property either keeps whole is kept whole. */
function union(a: Tree, b: Tree): Tree {
  const out: Record<string, true | Tree> = { ...a }
  for (const key of Object.keys(b)) {
    const x = out[key]
    const y = b[key]!
    out[key] = x === undefined ? y : x === true || y === true ? true : union(x, y)
  }
  return out
}

function compileWrite(tree: Tree): WriteCheck {
  const subs = new Map<string, true | WriteCheck>()
  for (const key of Object.keys(tree)) {
    const spec = tree[key]!
    subs.set(key, spec === true ? true : compileWrite(spec))
  }
  const wildcard = subs.get(WILDCARD)
  const check: WriteCheck = (value, pointer, out) => {
    if (typeof value !== 'object' || value === null) return
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length && out.length < MAX_FIELD_ERRORS; i++)
        check(value[i], `${pointer}/${i}`, out)
      return
    }
    for (const key of Object.keys(value)) {
      if (out.length >= MAX_FIELD_ERRORS) return
      const sub = (key !== WILDCARD && subs.get(key)) || wildcard
      const at = `${pointer}/${escapePointer(key)}`
      if (sub === undefined)
        out.push({ pointer: at, message: 'This property may not be written.', code: 'not_writable' })
      else if (sub !== true) sub((value as Record<string, unknown>)[key], at, out)
    }
  }
  return check
}

/** Resolves a principal's tree once per role set (or per tree a function returns) and compiles it. */
class Compiled<T> {
  readonly #byRoles = new Map<string, T>()
  readonly #byTree = new WeakMap<object, T>()
  readonly #rules: FieldRules
  readonly #compile: (tree: Tree) => T
  readonly #empty: T

  constructor(rules: FieldRules, compile: (tree: Tree) => T) {
    this.#rules = rules
    this.#compile = compile
    this.#empty = compile({})
  }

  for(principal: Principal): T {
    const rules = this.#rules
    if (typeof rules === 'function') {
      const tree = rules(principal)
      if (tree === undefined) return this.#empty
      let compiled = this.#byTree.get(tree)
      if (compiled === undefined) {
        compiled = this.#compile(tree)
        this.#byTree.set(tree, compiled)
      }
      return compiled
    }
    const roles = principal.roles
    const key = roles.length === 0 ? '' : roles.length === 1 ? roles[0]! : [...roles].sort().join('\u0000')
    let compiled = this.#byRoles.get(key)
    if (compiled === undefined) {
      let tree: Tree = hasOwn.call(rules, WILDCARD) ? rules[WILDCARD]! : {}
      for (const role of roles)
        if (role !== WILDCARD && hasOwn.call(rules, role)) tree = union(tree, rules[role]!)
      compiled = this.#compile(tree)
      // Role sets are few; the bound keeps tokens with invented roles from growing the map.
      if (this.#byRoles.size < 1_000) this.#byRoles.set(key, compiled)
    }
    return compiled
  }
}

/** Whether the request carries a body, parsed or not. */
function sendsBody(req: SecurityRequest): boolean {
  const length = req.header('content-length')
  return (length !== undefined && length !== '0') || req.header('transfer-encoding') !== undefined
}

/**
 * A body that is there but not parsed yet: the guard runs before the body parser (an app-wide
 * guard mounted before `express.json()`), and the handler would get properties nobody checked.
 * Refused, never let through.
 */
function unparsedBody(ctx: SecurityContext): never {
  warnOnce(
    'APIWARD_FIELDS_UNPARSED_BODY',
    'fields() ran before the body was parsed, so it cannot check what the body writes; the request was refused. Mount it after the body parser (express.json(), bodyParser()) or on the route.',
    'authz.md#api3-broken-object-property-level-authorization',
  )
  ctx.emit('authz.error', {
    severity: 'error',
    guard: 'fields',
    callback: 'body',
    detail: 'the body was not parsed when fields() ran',
  })
  throw new InternalServerError()
}

function checkRules(rules: unknown, name: string, where: string): FieldRules | undefined {
  if (rules === undefined || typeof rules === 'function') return rules as FieldRules | undefined
  if (typeof rules !== 'object' || rules === null || Array.isArray(rules)) {
    throw new TypeError(
      `${where}: ${name} must be an object of role name to property tree, or (principal) => tree`,
    )
  }
  for (const [role, tree] of Object.entries(rules))
    compileProjection(tree as ProjectionTree, `${where}: ${name}.${role}`)
  return rules as FieldRules
}

/**
 * Property-level authorization (OWASP API3, BOPLA): which body properties each role may write
 * (mass assignment: `ownerId`, `isAdmin`, `role`), and which response properties it may read.
 *
 * - Write: every property of the body not listed for the caller, at any depth (nested objects,
 *   arrays of objects), is refused together: 400 `validation.rejected` with one `errors[]` entry
 *   per property, by JSON pointer. Unknown and forbidden properties answer alike. A body that is
 *   there but not parsed yet (the guard mounted before the body parser) is refused with a 500
 *   and a warning, never let through unchecked.
 * - Read: a 2xx JSON body is filtered through `ctx.onSend` to what the caller may read, with
 *   core's projection engine, compiled once per role set; other statuses pass untouched. With
 *   another filter on the route (validate's `response()`), each copies only what it allows, so
 *   the client gets the intersection.
 *
 * No principal answers 401. Trees are checked at startup (`TypeError` naming the role).
 *
 * @example
 * ```ts
 * const noteFields = fields({
 *   write: { user: { title: true, body: true }, admin: { title: true, body: true, ownerId: true } },
 *   read: { '*': { id: true, title: true, body: true }, admin: { ownerId: true } },
 * })
 * app.patch('/notes/:id', guard(jwt(opts), note, noteFields), updateNote)
 * ```
 */
export function fields(options: FieldsOptions): Guard {
  const where = 'fields()'
  checkOptions<FieldsOptions>(options, where, OPTIONS, MISTAKES, '{ write: { user: { title: true } } }')
  const write = checkRules(options.write, 'write', where)
  const read = checkRules(options.read, 'read', where)
  if (write === undefined && read === undefined) {
    throw new TypeError(`${where}: give write (properties each role may write), read, or both`)
  }
  const challenges = new Challenges(realmOption(options.realm, where))
  const writers = write === undefined ? undefined : new Compiled<WriteCheck>(write, compileWrite)
  const readers =
    read === undefined ? undefined : new Compiled<Projection>(read, (tree) => compileProjection(tree, where))

  const check = (ctx: SecurityContext): void => {
    const principal = ctx.principal
    if (principal === undefined) {
      ctx.emit('authz.denied', { severity: 'warn', guard: 'fields', reason: 'unauthenticated' })
      throw challenges.unauthenticated(ctx)
    }
    if (writers !== undefined) {
      const body = ctx.req.body
      if (body === undefined && sendsBody(ctx.req)) unparsedBody(ctx)
      if (typeof body === 'object' && body !== null && !ArrayBuffer.isView(body)) {
        const refused: ProblemFieldError[] = []
        writers.for(principal)(body, '', refused)
        if (refused.length > 0) {
          ctx.emit('authz.denied', {
            severity: 'warn',
            code: 'validation.rejected',
            guard: 'fields',
            reason: 'forbidden_property',
            missing: refused.map((e) => e.pointer),
          })
          throw new BadRequest({
            code: 'validation.rejected',
            detail: 'The request body writes properties that may not be written.',
            errors: refused,
          })
        }
      }
    }
    if (readers !== undefined) {
      const project = readers.for(principal)
      ctx.onSend((body, _ctx, status) => (status >= 200 && status < 300 ? project(body) : body))
    }
  }
  return defineGuard(check, {
    guardName: 'fields',
    kind: 'authorization',
    needsBody: writers !== undefined,
    settings: {
      write: write === undefined ? false : typeof write === 'function' ? 'function' : Object.keys(write),
      read: read === undefined ? false : typeof read === 'function' ? 'function' : Object.keys(read),
    },
  })
}
