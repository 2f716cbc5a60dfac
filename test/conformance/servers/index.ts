import type { AdapterHarness } from '../harness.js'
import { expressHarnesses } from './express.js'
import { fastifyHarnesses } from './fastify.js'
import { honoHarnesses } from './hono.js'
import { koaHarnesses } from './koa.js'

/** Every adapter at every major version the conformance suite covers. */
export const harnesses: AdapterHarness[] = [
  ...expressHarnesses,
  ...koaHarnesses,
  ...fastifyHarnesses,
  ...honoHarnesses,
]
