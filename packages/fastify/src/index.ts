import './types.js'

export { contextOf, frameworkRequestOf, stateOf } from './context.js'
export type { FastifyGuard, FastifyGuardOptions, GuardHook, GuardHooks } from './guard.js'
export { createGuard, guard } from './guard.js'
export { type ApiwardOptions, apiward, routes } from './plugin.js'
export {
  type FrameworkErrorsHandler,
  type FrameworkErrorsOptions,
  frameworkErrors,
  sendProblem,
} from './problem.js'
