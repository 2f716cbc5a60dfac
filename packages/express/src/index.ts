import './types.js'

export { handleClientErrors } from '@apiward/core/adapter'
export { contextOf, frameworkRequestOf, sendProblem, stateOf } from './context.js'
export { errorHandler, routes } from './error-handler.js'
export { createGuard, type ExpressGuard, type ExpressGuardOptions, guard } from './guard.js'
