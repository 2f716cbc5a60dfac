import './types.js'

export { handleClientErrors } from '@apiward/core'
export { contextOf, sendProblem } from './context.js'
export { errorHandler } from './error-handler.js'
export { createGuard, guard, type KoaGuard, type KoaGuardOptions } from './guard.js'
export { KoaSecurityRequest } from './request.js'
