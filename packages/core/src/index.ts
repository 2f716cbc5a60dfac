export { Answer, type AnswerOptions, answerNow } from './answer.js'
export {
  type BodyTransform,
  type ContextOptions,
  type RequestOutcome,
  type ResponseBinding,
  SecurityContext,
} from './context.js'
export {
  type AnySecurityEvent,
  RequestCompletedEvent,
  type SecurityEvent,
  type SecurityEventBase,
  SecurityEventBus,
  type SecurityEventFields,
  type SecurityEventFieldsArg,
  type SecurityEventInput,
  type SecurityEventListener,
  type SecurityEventMap,
  type SecurityEventOf,
  type SecurityEventType,
  securityEvents,
} from './events.js'
export { fieldErrorsOf, type SchemaViolation, schemaViolationError } from './field-errors.js'
export {
  compose,
  defineGuard,
  describeGuards,
  type Guard,
  type GuardDescription,
  type GuardInfo,
  type GuardInput,
  type GuardKind,
  type RouteId,
  splitByBody,
  toGuardList,
} from './guard.js'
export { type HeaderList, headerList, mergeListHeader, type SendHeaders } from './headers.js'
export {
  CidrSet,
  clientAddress,
  ipKey,
  ipKeyOf,
  NON_PUBLIC_RANGES,
  type ParsedIp,
  parseClientIp,
  parseIPv4,
  parseIPv6,
  parseIp,
  stripPort,
} from './ip.js'
export { mediaTypeMatches, mediaTypeOf } from './media-type.js'
export { booleanOption, checkOptions, functionOption, type KnownOptions } from './options.js'
export {
  absoluteFormHost,
  EXACT_ROUTER,
  FOLDING_ROUTER,
  normalizePath,
  originForm,
  type RoutingPolicy,
  routerPath,
} from './path.js'
export type { CredentialKind, Principal, PrincipalClaims } from './principal.js'
export { compileProjection, type Projection, type ProjectionTree } from './projection.js'
export type { ProxyTrust, SecurityRequest, TlsInfo } from './request.js'
export { newRequestId, REQUEST_ID_HEADER, requestIdFrom } from './request-id.js'
export { createKey, type Deprecation, kDeprecation, type StateKey } from './state.js'
export { type UnlessOptions, unless } from './unless.js'
export {
  configureWarnings,
  hasWarned,
  resetWarnings,
  type WarningLogger,
  type WarningOptions,
  warnOnce,
} from './warn.js'
