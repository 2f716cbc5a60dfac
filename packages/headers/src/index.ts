export {
  type ApiVersionOptions,
  apiVersion,
  type DeprecationInfo,
  deprecated,
  deprecationHeaders,
  kApiVersion,
  type VersionSource,
} from './api-version.js'
export { HEADERS_CODES, type HeadersErrorCode } from './codes.js'
export {
  type CorsOptions,
  cors,
  DEFAULT_CORS_ALLOWED_HEADERS,
  DEFAULT_CORS_EXPOSED_HEADERS,
  DEFAULT_CORS_METHODS,
  unanchoredReason,
} from './cors.js'
export { HEADERS_EVENTS, type HeadersEventMap, type HeadersEventType } from './events.js'
export { type HttpsOnlyOptions, httpsOnly } from './https-only.js'
export {
  API_CSP_DIRECTIVES,
  type SecureHeaderSet,
  type SecureHeadersOptions,
  secureHeaderSet,
  secureHeaders,
} from './secure-headers.js'
