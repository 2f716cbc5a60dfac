export { ApiError, type ApiErrorOptions, type ProblemFieldError, statusDefaults } from './api-error.js'
export { ERROR_CODES, type ErrorCode, isApiError } from './codes.js'
export {
  BadRequest,
  Conflict,
  Forbidden,
  InternalServerError,
  MethodNotAllowed,
  NotFound,
  PayloadTooLarge,
  ServiceUnavailable,
  TooManyRequests,
  Unauthorized,
  UnprocessableEntity,
  UnsupportedMediaType,
} from './http-errors.js'
export {
  DEFAULT_PROBLEM_TYPE_BASE,
  PROBLEM_CONTENT_TYPE,
  type ProblemDocument,
  type RenderedProblem,
  type ToProblemOptions,
  toApiError,
  toProblem,
} from './problem.js'
