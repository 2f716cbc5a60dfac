import './types.js'

export { handleClientErrors } from '@apiward/core/adapter'
export { contextOf, frameworkRequestOf, sendProblem, stateOf } from './context.js'
export { errorHandler, routes } from './error-handler.js'
export { createGuard, guard, type KoaGuard, type KoaGuardOptions } from './guard.js'
