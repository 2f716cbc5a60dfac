import './types.js'

export { contextOf, stateOf } from './context.js'
export {
  createGuard,
  type FastifyGuard,
  type FastifyGuardOptions,
  type GuardHook,
  type GuardHooks,
  guard,
} from './guard.js'
export { type ApiwardOptions, apiward } from './plugin.js'
export { type FrameworkErrorsHandler, frameworkErrors, sendProblem } from './problem.js'
