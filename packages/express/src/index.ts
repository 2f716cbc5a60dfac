import './types.js'

export { handleClientErrors } from '@apiward/core'
export { contextOf, sendProblem } from './context.js'
export { errorHandler } from './error-handler.js'
export { createGuard, type ExpressGuard, type ExpressGuardOptions, guard } from './guard.js'
export { ExpressSecurityRequest } from './request.js'
