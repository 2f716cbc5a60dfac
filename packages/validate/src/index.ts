import './events.js'

export { VALIDATE_CODES, type ValidateErrorCode } from './codes.js'
export type { RegExpEngine } from './compiler.js'
export { type RequestPart, VALIDATE_EVENTS, type ValidateEventMap, type ValidateEventType } from './events.js'
export { DEFAULT_JSON_BODY, type JsonBodyOptions, jsonBody } from './json-body.js'
export {
  kOperation,
  type OpenApiGuard,
  type OpenApiOperation,
  type OpenApiOptions,
  openapi,
} from './openapi.js'
export type { ValidationFieldError } from './rejected.js'
export { type ResponseOptions, response } from './response.js'
export type { FromSchema, JsonSchema } from './schema-type.js'
export {
  kValidated,
  type RequestSchemas,
  type ValidatedInput,
  type ValidateGuard,
  type ValidateOptions,
  validate,
} from './validate.js'
