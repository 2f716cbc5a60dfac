export type { JwtAlgorithm } from './algorithms.js'
export { type AnyOfOptions, anyOf } from './any-of.js'
export {
  type ApiKeyFailureReason,
  type ApiKeyLookup,
  type ApiKeyOptions,
  type ApiKeyRecord,
  apiKey,
  type StaticApiKey,
} from './api-key.js'
export {
  type GenerateApiKeyOptions,
  type GeneratedApiKey,
  generateApiKey,
  hashApiKey,
  MAX_API_KEY_LENGTH,
  type ParsedApiKey,
  parseApiKey,
} from './api-key-tools.js'
export type { TokenExtractor, TokenLocation } from './bearer.js'
export type {
  BindingOptions,
  CertificateBindingFailureReason,
  CertificateBindingOptions,
} from './binding.js'
export type {
  ClientAuthentication,
  ClientSecretBasic,
  ClientSecretPost,
  PrivateKeyJwt,
} from './client-auth.js'
export { AUTH_CODES, type AuthErrorCode } from './codes.js'
export { type CredentialGuard, isCredentialGuard } from './credential.js'
export { type AuthorizationServerMetadata, wellKnownUrls } from './discovery.js'
export { type DpopOptions, type DpopPolicy, dpop } from './dpop.js'
export type { DpopFailureReason } from './dpop-proof.js'
export {
  type DpopReplayRedisClient,
  type DpopReplayStore,
  type MemoryDpopReplayOptions,
  memoryDpopReplayStore,
  type RedisDpopReplayOptions,
  redisDpopReplayStore,
} from './dpop-replay.js'
export type { TokenFailureReason } from './errors.js'
export { AUTH_EVENTS, type AuthEventMap, type AuthEventType } from './events.js'
export { type IntrospectionGuard, introspection } from './introspection.js'
export {
  type CachedIntrospection,
  type IntrospectionCacheStore,
  type IntrospectionRedisClient,
  type MemoryIntrospectionCacheOptions,
  memoryIntrospectionCache,
  type RedisIntrospectionCacheOptions,
  redisIntrospectionCache,
} from './introspection-cache.js'
export type { IntrospectionErrorReason } from './introspection-endpoint.js'
export type { IntrospectionCacheOptions, IntrospectionOptions } from './introspection-options.js'
export {
  type JwtDiagnostic,
  type JwtGuard,
  type JwtKeyOptions,
  type JwtLogger,
  type JwtOptions,
  jwt,
} from './jwt.js'
export type { PublicKeyInput } from './key-source.js'
export {
  type CertificateFailureReason,
  type CertificatePrincipal,
  type CertificatePrincipalSource,
  kClientCertificate,
  type MtlsGuard,
  type MtlsOptions,
  mtls,
} from './mtls.js'
export { type ClientCertificate, certificateThumbprint } from './mtls-certificate.js'
export {
  type RedisRevocationOptions,
  type RevocationRedisClient,
  redisRevocationStore,
} from './redis-revocation.js'
export type { RemoteJwksOptions } from './remote.js'
export { type MemoryRevocationOptions, memoryRevocationStore, type RevocationStore } from './revocation.js'
