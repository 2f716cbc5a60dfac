import type { Principal } from '@apiward/core'

declare module 'hono' {
  interface ContextVariableMap {
    /** The caller established by an apiward guard; `undefined` while anonymous. */
    auth: Principal | undefined
  }
}
