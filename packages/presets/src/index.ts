export {
  type ApiRouteOptions,
  type ApiStack,
  type ApiStackOptions,
  type ApiStackRateLimit,
  apiStack,
} from './api-stack.js'
