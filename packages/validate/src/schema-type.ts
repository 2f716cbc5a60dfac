/**
 * A JSON Schema as `validate()` takes it: an object (2020-12 or draft-07, chosen by `$schema`),
 * or `true` / `false`. Write schemas `as const` so {@link FromSchema} can type what they accept.
 */
export type JsonSchema = boolean | { readonly [keyword: string]: unknown }

type Simplify<T> = { [K in keyof T]: T[K] } & {}

type PrimitiveOf<T> = T extends 'string'
  ? string
  : T extends 'integer' | 'number'
    ? number
    : T extends 'boolean'
      ? boolean
      : T extends 'null'
        ? null
        : T extends 'array'
          ? unknown[]
          : T extends 'object'
            ? Record<string, unknown>
            : unknown

type ObjectOf<S> = S extends { readonly properties: infer P }
  ? Simplify<
      {
        -readonly [K in keyof P as K extends RequiredOf<S> ? K : never]: FromSchema<P[K]>
      } & {
        -readonly [K in keyof P as K extends RequiredOf<S> ? never : K]?: FromSchema<P[K]>
      }
    >
  : Record<string, unknown>

type RequiredOf<S> = S extends { readonly required: readonly (infer R)[] } ? R : never

type TypedOf<S, T> = T extends 'object'
  ? ObjectOf<S>
  : T extends 'array'
    ? S extends { readonly items: infer I }
      ? FromSchema<I>[]
      : unknown[]
    : PrimitiveOf<T>

/**
 * The TypeScript type of the values a schema written `as const` accepts: `type` (one or a list),
 * `properties` with `required`, `items`, `enum` and `const`. Anything it does not model (`$ref`,
 * compositions) is `unknown`, so a handler still narrows it itself.
 *
 * @example
 * ```ts
 * const note = { type: 'object', properties: { title: { type: 'string' } }, required: ['title'] } as const
 * type Note = FromSchema<typeof note> // { title: string }
 * ```
 */
export type FromSchema<S> = S extends { readonly const: infer C }
  ? C
  : S extends { readonly enum: readonly (infer E)[] }
    ? E
    : S extends { readonly type: readonly (infer T)[] }
      ? T extends unknown
        ? TypedOf<S, T>
        : never
      : S extends { readonly type: infer T }
        ? TypedOf<S, T>
        : S extends { readonly properties: unknown }
          ? ObjectOf<S>
          : unknown
