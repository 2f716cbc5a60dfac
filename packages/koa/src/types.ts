import type { Principal } from '@apiward/core'

declare module 'koa' {
  interface DefaultState {
    /** The caller established by an apiward guard; `undefined` while anonymous. */
    auth?: Principal
  }
}
