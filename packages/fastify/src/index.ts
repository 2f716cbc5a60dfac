import './types.js'

export { contextOf, stateOf } from './context.js'
export { type FrameworkErrorsHandler, frameworkErrors } from './framework-errors.js'
export {
  createGuard,
  type FastifyGuard,
  type FastifyGuardOptions,
  type GuardHook,
  type GuardHooks,
  guard,
} from './guard.js'
export { type ApiwardOptions, apiward } from './plugin.js'
export { sendProblem } from './problem.js'
