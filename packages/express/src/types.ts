import type { Principal } from '@apiward/core'

declare global {
  namespace Express {
    interface Request {
      /** The caller established by an apiward guard; `undefined` while anonymous. */
      auth?: Principal
    }
  }
}
