export { type CasbinGuard, type CasbinOptions, type CasbinRoles, casbin } from './casbin.js'
export {
  type ClaimCheck,
  type ClaimChecks,
  type ClaimPredicate,
  type ClaimsOptions,
  claims,
} from './claims.js'
export { AUTHZ_CODES, type AuthzErrorCode } from './codes.js'
export {
  AUTHZ_EVENTS,
  type AuthzDenialReason,
  type AuthzEventMap,
  type AuthzEventType,
  type AuthzGuardName,
  type PolicyLoadTrigger,
} from './events.js'
export { type FieldRules, type FieldsOptions, fields, MAX_FIELD_ERRORS } from './fields.js'
export { type OwnerGuard, type OwnerOptions, owner } from './owner.js'
export { type RolesOptions, roles } from './roles.js'
export { type ScopesOptions, scopes } from './scopes.js'
