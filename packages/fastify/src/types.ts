import type { Principal } from '@apiward/core'

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * The caller established by an apiward guard; `undefined` while anonymous. The `apiward`
     * plugin declares it on every request, so it is never missing, only empty.
     */
    auth: Principal | undefined
  }
}
