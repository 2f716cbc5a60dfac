// The reference notes API, shared by the Express, Koa, Fastify and Hono examples.
export { loadSettings, readSettings } from './config.js'
export { createDomain, publicNote } from './domain.js'
export { serve } from './lifecycle.js'
export { createSecurity } from './security.js'
