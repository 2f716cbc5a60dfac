import type { Principal } from '@apiward/core'

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * The caller established by an apiward guard; `undefined` while anonymous and on requests
     * no guard authenticated.
     */
    auth: Principal | undefined
  }
}
