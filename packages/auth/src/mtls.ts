import { X509Certificate } from 'node:crypto'
import {
  booleanOption,
  checkOptions,
  createKey,
  functionOption,
  type KnownOptions,
  type Principal,
  type SecurityContext,
  type SecurityRequest,
  type StateKey,
} from '@apiward/core'
import { type ApiError, ServiceUnavailable, Unauthorized } from '@apiward/errors'
import { isThenable, misread, reportCallbackError } from './callback.js'
import type { CredentialGuard } from './credential.js'
import {
  type CertificateSource,
  type ClientCertificate,
  certificateSource,
  certificateThumbprint,
  fromTrustedProxy,
  presentedCertificate,
  validAt,
} from './mtls-certificate.js'

/** Why a client certificate was refused. Sent to security events, never to the client. */
export type CertificateFailureReason =
  | 'unreadable'
  | 'not_verified'
  | 'not_registered'
  | 'expired'
  | 'not_yet_valid'
  | 'thumbprint_not_allowed'
  | 'no_principal'
  | 'principal_not_allowed'
  | 'rejected_by_lookup'

/** What the certificate's principal id is read from. */
export type CertificatePrincipalSource = 'subject' | 'common-name' | 'dns' | 'uri' | 'email' | 'thumbprint'

/** What a {@link MtlsOptions.lookup} answers for a certificate it knows. */
export interface CertificatePrincipal {
  id: string
  kind?: Principal['kind']
  scopes?: readonly string[]
  roles?: readonly string[]
  claims?: Principal['claims']
}

/** Options of {@link mtls}. */
export interface MtlsOptions {
  /**
   * How a certificate is trusted (RFC 8705 section 2). `'pki'`: the TLS server verified its
   * chain against the server's `ca` (`tls_client_auth`, the socket is `authorized`).
   * `'self-signed'`: no CA; the certificate must be one of `certificates` or `thumbprints`, the
   * client's registration (`self_signed_tls_client_auth`, section 2.2). Default `'pki'`, so a
   * certificate nobody vouched for never passes.
   */
  mode?: 'pki' | 'self-signed'
  /**
   * The registered client certificates (PEM or DER) of `'self-signed'` mode: the presented one
   * must be byte-identical to one of them. Default: none.
   */
  certificates?: readonly (string | Uint8Array)[]
  /**
   * An allowlist of certificate SHA-256 thumbprints (base64url `x5t#S256`, or hex with or
   * without colons as `openssl x509 -fingerprint -sha256` prints it). In `'self-signed'` mode
   * they register certificates like `certificates`; in `'pki'` mode they narrow the CA's
   * certificates to these. Default: none (in `'pki'` mode, every certificate of the CA).
   */
  thumbprints?: readonly string[]
  /**
   * The CA certificates (PEM or DER) a certificate forwarded by a proxy
   * (`forwardedCertificateHeader`) must be issued by, in `'pki'` mode: proxies can forward
   * certificates they did not verify (nginx `optional_no_ca`), so the guard checks the issuer,
   * the signature and the validity period itself. Required with a forwarded header in `'pki'`
   * mode; a chain's intermediate CAs are listed here too.
   */
  ca?: readonly (string | Uint8Array)[]
  /**
   * What the principal's `id` is: the `'subject'` (`CN=client-a, O=Example`, the default), its
   * `'common-name'`, the first subjectAltName `'dns'` name, `'uri'` (a SPIFFE ID) or `'email'`,
   * or the `'thumbprint'`. With `allow`, the first value of that kind that is allowed.
   */
  principalFrom?: CertificatePrincipalSource
  /** The principal ids that may pass (`principalFrom` values). Default: every id. */
  allow?: readonly string[]
  /**
   * Maps a verified certificate to a principal (a client registry, say): its answer is the
   * principal (credential `mtls`), `undefined` refuses with 401. It runs only after the
   * certificate passed every other check, so it can narrow access but never let in a
   * certificate that was refused. A throw or rejection answers 503 `auth.unavailable` and
   * emits `auth.error`. Default: the principal of `principalFrom`.
   */
  lookup?: (
    certificate: ClientCertificate,
    ctx: SecurityContext,
  ) => CertificatePrincipal | undefined | PromiseLike<CertificatePrincipal | undefined>
  /** The principal's `kind` (without `lookup`). Default `'service'`: certificates identify machines. */
  kind?: Principal['kind']
  /**
   * The header a TLS-terminating proxy forwards the client certificate in
   * (`x-forwarded-client-cert`, `x-ssl-client-cert`, `client-cert` of RFC 9440...). It is read
   * only when the framework trusts the connecting peer as a proxy (its trust-proxy setting: the
   * client address came from `X-Forwarded-For`), and then instead of the TLS connection's
   * certificate; from any other peer it is ignored, with a warning. Default: none, only the TLS
   * connection counts.
   */
  forwardedCertificateHeader?: string
  /**
   * Whether a request without a client certificate is refused (401 `auth.missing_certificate`).
   * Default `true`. With `false` it goes on without a principal; a certificate that is sent must
   * still pass.
   */
  required?: boolean
}

const OPTIONS: KnownOptions<MtlsOptions> = {
  mode: true,
  certificates: true,
  thumbprints: true,
  ca: true,
  principalFrom: true,
  allow: true,
  lookup: true,
  kind: true,
  forwardedCertificateHeader: true,
  required: true,
}

const MISTAKES: Readonly<Record<string, string>> = {
  header: 'forwardedCertificateHeader',
  forwardedHeader: 'forwardedCertificateHeader',
  trustedCertificates: 'certificates',
  fingerprints: 'thumbprints',
  allowedSubjects: 'allow',
}

/**
 * The client certificate an {@link mtls} guard accepted, for handlers (`stateOf(req,
 * kClientCertificate)`) and for the certificate binding of tokens.
 */
export const kClientCertificate: StateKey<ClientCertificate> =
  createKey<ClientCertificate>('client certificate')

/** A {@link mtls} guard. */
export interface MtlsGuard extends CredentialGuard {}

function certificateList(value: unknown, name: string): X509Certificate[] {
  if (value === undefined) return []
  if (!Array.isArray(value)) throw new TypeError(`mtls(): ${name} is an array of PEM strings or DER bytes.`)
  return value.map((entry, i) => {
    try {
      if (typeof entry !== 'string' && !(entry instanceof Uint8Array)) throw new TypeError('not PEM or DER')
      return new X509Certificate(entry)
    } catch {
      throw new TypeError(`mtls(): ${name}[${i}] is not a certificate (PEM string or DER bytes).`)
    }
  })
}

/** A thumbprint in base64url, from base64url or (colon-separated) hex. */
function normalThumbprint(value: unknown, i: number): string {
  if (typeof value === 'string') {
    const hex = value.replace(/:/g, '')
    if (/^[0-9a-fA-F]{64}$/.test(hex)) return Buffer.from(hex, 'hex').toString('base64url')
    if (/^[A-Za-z0-9_-]{43}$/.test(value)) return value
  }
  throw new TypeError(
    `mtls(): thumbprints[${i}] is a SHA-256 certificate thumbprint: base64url (43 characters, the x5t#S256) or 64 hex digits.`,
  )
}

const SOURCES: readonly CertificatePrincipalSource[] = [
  'subject',
  'common-name',
  'dns',
  'uri',
  'email',
  'thumbprint',
]

function candidates(cert: ClientCertificate, from: CertificatePrincipalSource): readonly string[] {
  switch (from) {
    case 'subject':
      return cert.subject === '' ? [] : [cert.subject]
    case 'common-name':
      return cert.commonName === undefined ? [] : [cert.commonName]
    case 'dns':
      return cert.dnsNames
    case 'uri':
      return cert.uris
    case 'email':
      return cert.emails
    case 'thumbprint':
      return [cert.thumbprint]
  }
}

function claimsOf(cert: ClientCertificate): Principal['claims'] {
  return {
    subject: cert.subject,
    issuer: cert.issuer,
    serialNumber: cert.serialNumber,
    dns: cert.dnsNames,
    uri: cert.uris,
    email: cert.emails,
    'x5t#S256': cert.thumbprint,
  }
}

/** Why Node's TLS layer did not verify a certificate, where the reason says more than `not_verified`. */
const TLS_REASONS: Readonly<Record<string, CertificateFailureReason>> = {
  CERT_HAS_EXPIRED: 'expired',
  CERT_NOT_YET_VALID: 'not_yet_valid',
}

/** Whether `cert` was issued and signed by one of `cas`, and is valid now. */
function issuedByOneOf(cert: X509Certificate, cas: readonly X509Certificate[]): boolean {
  return cas.some((ca) => {
    try {
      return cert.checkIssued(ca) && cert.verify(ca.publicKey)
    } catch {
      return false
    }
  })
}

/**
 * Authenticates the client by its TLS certificate (RFC 8705 section 2): verified by the
 * server's CA (`'pki'` mode, the default: create the server with `requestCert: true` and `ca`),
 * or one of the registered self-signed certificates (`'self-signed'` mode). The principal
 * (credential `mtls`, kind `service`) comes from the subject, a subjectAltName, the thumbprint
 * or your `lookup`; the certificate is kept under {@link kClientCertificate}.
 *
 * Keep the TLS server's `rejectUnauthorized: false` only when routes without this guard must
 * stay reachable without a certificate; the guard refuses unverified certificates itself.
 *
 * @example
 * ```ts
 * const server = https.createServer({ key, cert, ca: clientCa, requestCert: true, rejectUnauthorized: false }, app)
 * app.get('/payouts', guard(mtls({ principalFrom: 'uri', allow: ['spiffe://example.com/billing'] })), payouts)
 * ```
 */
export function mtls(options: MtlsOptions = {}): MtlsGuard {
  checkOptions<MtlsOptions>(options, 'mtls()', OPTIONS, MISTAKES, "mtls({ principalFrom: 'subject' })")
  const mode = options.mode ?? 'pki'
  if (mode !== 'pki' && mode !== 'self-signed') {
    throw new TypeError(
      "mtls(): mode is 'pki' (a CA verifies certificates) or 'self-signed' (RFC 8705 section 2.2).",
    )
  }
  const registered = new Set(
    certificateList(options.certificates, 'certificates').map((c) => certificateThumbprint(c.raw)),
  )
  if (options.thumbprints !== undefined && !Array.isArray(options.thumbprints)) {
    throw new TypeError('mtls(): thumbprints is an array of SHA-256 certificate thumbprints.')
  }
  const thumbprints = new Set((options.thumbprints ?? []).map(normalThumbprint))
  if (mode === 'self-signed') {
    for (const t of thumbprints) registered.add(t)
    if (registered.size === 0) {
      throw new TypeError(
        "mtls(): mode 'self-signed' needs the registered certificates: certificates (PEM or DER) or thumbprints.",
      )
    }
  } else if (options.certificates !== undefined) {
    throw new TypeError(
      "mtls(): certificates registers self-signed certificates: set mode: 'self-signed', or use thumbprints to narrow a CA's certificates.",
    )
  }
  const source: CertificateSource = certificateSource(options.forwardedCertificateHeader, 'mtls()')
  const cas = certificateList(options.ca, 'ca')
  if (mode === 'pki' && source.header !== undefined && cas.length === 0) {
    throw new TypeError(
      "mtls(): a forwarded certificate is verified by the guard itself in 'pki' mode: give ca (the CA certificates that issue client certificates).",
    )
  }
  if (mode === 'self-signed' && cas.length > 0) {
    throw new TypeError(
      "mtls(): ca verifies forwarded certificates in 'pki' mode; 'self-signed' mode has no CA.",
    )
  }
  const principalFrom = options.principalFrom ?? 'subject'
  if (!SOURCES.includes(principalFrom)) {
    throw new TypeError(`mtls(): principalFrom is one of ${SOURCES.map((s) => `'${s}'`).join(', ')}.`)
  }
  if (
    options.allow !== undefined &&
    (!Array.isArray(options.allow) || options.allow.some((a) => typeof a !== 'string'))
  ) {
    throw new TypeError('mtls(): allow is an array of principal ids (strings).')
  }
  const allow = options.allow === undefined ? undefined : new Set(options.allow)
  const lookup = functionOption<NonNullable<MtlsOptions['lookup']>>(
    options.lookup,
    'lookup',
    'mtls()',
    '(certificate, ctx) => principal | undefined',
  )
  const kind = options.kind ?? 'service'
  if (kind !== 'service' && kind !== 'user') throw new TypeError("mtls(): kind is 'service' or 'user'.")
  const required = booleanOption(options.required, 'required', 'mtls()', true)

  const refuse = (ctx: SecurityContext, reason: CertificateFailureReason): ApiError => {
    ctx.emit('auth.failure', {
      severity: 'warn',
      code: 'auth.invalid_certificate',
      credential: 'mtls',
      reason,
    })
    return new Unauthorized({
      code: 'auth.invalid_certificate',
      detail: 'The client certificate is not accepted.',
    })
  }

  const grant = (ctx: SecurityContext, cert: ClientCertificate, principal: Principal): void => {
    ctx.set(kClientCertificate, cert)
    ctx.principal = principal
    ctx.emit('auth.success', { credential: 'mtls' })
  }

  const fromLookup = (ctx: SecurityContext, cert: ClientCertificate, answer: unknown): void => {
    if (answer === undefined || answer === null || answer === false) throw refuse(ctx, 'rejected_by_lookup')
    const p = answer as Partial<CertificatePrincipal>
    if (typeof p !== 'object' || typeof p.id !== 'string' || p.id === '') {
      reportCallbackError(
        ctx,
        { code: 'auth.invalid_certificate', callback: 'lookup' },
        misread('lookup', answer, 'a principal with an id, or undefined'),
      )
      throw refuse(ctx, 'rejected_by_lookup')
    }
    grant(ctx, cert, {
      id: p.id,
      kind: p.kind === 'user' ? 'user' : 'service',
      scopes: [...(p.scopes ?? [])],
      roles: [...(p.roles ?? [])],
      claims: { ...claimsOf(cert), ...p.claims },
      credential: 'mtls',
    })
  }

  const lookupFailed = (ctx: SecurityContext, err: unknown): never => {
    reportCallbackError(ctx, { code: 'auth.unavailable', callback: 'lookup' }, err)
    throw new ServiceUnavailable({
      code: 'auth.unavailable',
      detail: 'The client certificate cannot be checked right now. Retry later.',
      retryAfter: 1,
    })
  }

  const guard = (ctx: SecurityContext): void | Promise<void> => {
    const cert = presentedCertificate(ctx, source)
    if (cert === undefined) {
      if (!required) return
      ctx.emit('auth.failure', { severity: 'info', code: 'auth.missing_certificate', credential: 'mtls' })
      throw new Unauthorized({
        code: 'auth.missing_certificate',
        detail: 'A client certificate is required.',
      })
    }
    if (cert === 'unreadable') throw refuse(ctx, 'unreadable')
    if (mode === 'self-signed') {
      if (!registered.has(cert.thumbprint)) throw refuse(ctx, 'not_registered')
    } else if (cert.source === 'tls') {
      const tls = ctx.req.tls
      if (tls?.authorized !== true)
        throw refuse(ctx, TLS_REASONS[tls?.authorizationError ?? ''] ?? 'not_verified')
    } else if (!issuedByOneOf(cert.x509, cas)) throw refuse(ctx, 'not_verified')
    // The TLS layer checked the dates of a certificate it verified; the guard checks all others.
    const validity = validAt(cert, Date.now())
    if (validity !== 'valid') throw refuse(ctx, validity)
    if (mode === 'pki' && thumbprints.size > 0 && !thumbprints.has(cert.thumbprint)) {
      throw refuse(ctx, 'thumbprint_not_allowed')
    }
    const ids = candidates(cert, principalFrom)
    const id = allow === undefined ? ids[0] : ids.find((candidate) => allow.has(candidate))
    if (id === undefined) throw refuse(ctx, ids.length === 0 ? 'no_principal' : 'principal_not_allowed')
    if (lookup === undefined) {
      grant(ctx, cert, { id, kind, scopes: [], roles: [], claims: claimsOf(cert), credential: 'mtls' })
      return
    }
    let answer: unknown
    try {
      answer = lookup(cert, ctx)
    } catch (err) {
      return lookupFailed(ctx, err)
    }
    if (!isThenable(answer)) return fromLookup(ctx, cert, answer)
    return Promise.resolve(answer).then(
      (settled) => fromLookup(ctx, cert, settled),
      (err: unknown) => lookupFailed(ctx, err),
    )
  }

  const hasCredential = (req: SecurityRequest): boolean => {
    if (source.header !== undefined && fromTrustedProxy(req)) return req.header(source.header) !== undefined
    const raw = req.tls?.peerCertificate?.raw
    return raw !== undefined && raw.length > 0
  }

  return Object.assign(guard, {
    guardName: 'mtls',
    kind: 'authentication' as const,
    settings: Object.freeze({
      mode,
      principalFrom,
      forwardedCertificateHeader: source.header,
      required,
    }),
    needsBody: false,
    hasCredential,
  })
}
