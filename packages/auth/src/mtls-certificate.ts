import { hash, X509Certificate } from 'node:crypto'
import { clientAddress, type SecurityContext, type SecurityRequest, warnOnce } from '@apiward/core'

/** A client certificate as the guards see it: parsed once, with what principal mappings need. */
export interface ClientCertificate {
  /** The certificate's DER bytes. */
  readonly der: Uint8Array
  /**
   * The base64url SHA-256 of the DER bytes: the `x5t#S256` a certificate-bound token carries in
   * `cnf` (RFC 8705 section 3.1).
   */
  readonly thumbprint: string
  /** The subject as `CN=client-a, O=Example` (the attributes in the certificate's order). */
  readonly subject: string
  /** The subject's common name, when it has one. */
  readonly commonName: string | undefined
  /** The issuer, spelled as `subject`. */
  readonly issuer: string
  /** The subjectAltName DNS names. */
  readonly dnsNames: readonly string[]
  /** The subjectAltName URIs (SPIFFE IDs, say). */
  readonly uris: readonly string[]
  /** The subjectAltName e-mail addresses. */
  readonly emails: readonly string[]
  /** The serial number, upper-case hex. */
  readonly serialNumber: string
  readonly notBefore: Date
  readonly notAfter: Date
  /** Where the certificate came from: the TLS connection, or a trusted proxy's header. */
  readonly source: 'tls' | 'header'
  /** The parsed certificate, for checks of your own (`checkIssued`, `publicKey`...). */
  readonly x509: X509Certificate
}

/** The base64url SHA-256 of a certificate's DER bytes (its `x5t#S256`). */
export function certificateThumbprint(der: Uint8Array): string {
  return hash('sha256', der, 'base64url')
}

/**
 * The values of a Node distinguished-name or subjectAltName string. Node writes one entry a line
 * (`CN=a\nO=b`) or comma-separated (`DNS:a, URI:b`), and a value with a separator in it as a JSON
 * string, so an entry `DNS:"a, DNS:b"` stays one value.
 */
function entries(text: string | undefined, separator: string): Array<[string, string]> {
  const out: Array<[string, string]> = []
  if (text === undefined || text === '') return out
  let i = 0
  while (i < text.length) {
    const mark = text.indexOf(separator === '\n' ? '=' : ':', i)
    if (mark === -1) break
    const name = text.slice(i, mark)
    let value: string
    let next: number
    if (text[mark + 1] === '"') {
      let end = mark + 2
      while (end < text.length && text[end] !== '"') end += text[end] === '\\' ? 2 : 1
      try {
        value = JSON.parse(text.slice(mark + 1, end + 1)) as string
      } catch {
        value = text.slice(mark + 2, end)
      }
      next = text.indexOf(separator, end)
    } else {
      next = text.indexOf(separator, mark)
      value = text.slice(mark + 1, next === -1 ? undefined : next)
    }
    out.push([name.trim(), value])
    if (next === -1) break
    i = next + separator.length
  }
  return out
}

function distinguishedName(text: string): { name: string; cn: string | undefined } {
  const parts = entries(text, '\n')
  return {
    name: parts.map(([k, v]) => `${k}=${v}`).join(', '),
    cn: parts.find(([k]) => k === 'CN')?.[1],
  }
}

const MAX_PARSED = 1000
/** The validity period in milliseconds, out of reach of code that could change the `Date`s it was handed. */
const validity = new WeakMap<ClientCertificate, readonly [notBefore: number, notAfter: number]>()

/** Whether a certificate parsed here is within its validity period at `now` (milliseconds). */
export function validAt(cert: ClientCertificate, now: number): 'valid' | 'expired' | 'not_yet_valid' {
  const [notBefore, notAfter] = validity.get(cert) ?? [cert.notBefore.getTime(), cert.notAfter.getTime()]
  if (!(notAfter > now)) return 'expired'
  return notBefore <= now ? 'valid' : 'not_yet_valid'
}
/** Parsed certificates by thumbprint, one object per source, so a hit allocates nothing. */
const parsed = new Map<string, { tls?: ClientCertificate; header?: ClientCertificate }>()

/**
 * The {@link ClientCertificate} of DER bytes, `undefined` when they are no certificate. Parsed
 * certificates are kept (at most 1000, the oldest dropped first): a client sends the same one on
 * every request, and its thumbprint is the key.
 */
export function parseCertificate(der: Uint8Array, source: 'tls' | 'header'): ClientCertificate | undefined {
  const thumbprint = certificateThumbprint(der)
  let entry = parsed.get(thumbprint)
  const hit = entry?.[source]
  if (hit !== undefined) return hit
  const known = entry?.tls ?? entry?.header
  let cert: ClientCertificate
  if (known !== undefined) cert = Object.freeze({ ...known, source })
  else {
    let x509: X509Certificate
    try {
      x509 = new X509Certificate(der)
    } catch {
      return undefined
    }
    const subject = distinguishedName(x509.subject)
    const san = entries(x509.subjectAltName, ', ')
    const of = (kind: string) => Object.freeze(san.filter(([k]) => k === kind).map(([, v]) => v))
    cert = Object.freeze({
      der: new Uint8Array(der),
      thumbprint,
      subject: subject.name,
      commonName: subject.cn,
      issuer: distinguishedName(x509.issuer).name,
      dnsNames: of('DNS'),
      uris: of('URI'),
      emails: of('email'),
      serialNumber: x509.serialNumber.toUpperCase(),
      notBefore: new Date(x509.validFrom),
      notAfter: new Date(x509.validTo),
      source,
      x509,
    })
  }
  if (entry === undefined) {
    if (parsed.size >= MAX_PARSED) parsed.delete(parsed.keys().next().value as string)
    entry = {}
    parsed.set(thumbprint, entry)
  }
  validity.set(cert, [new Date(cert.x509.validFrom).getTime(), new Date(cert.x509.validTo).getTime()])
  entry[source] = cert
  return cert
}

const PEM = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----/
const BASE64 = /^[A-Za-z0-9+/\s]+={0,2}$/

function base64Der(text: string): Uint8Array | undefined {
  const compact = text.replace(/\s+/g, '')
  if (compact.length < 64 || !BASE64.test(compact)) return undefined
  return Buffer.from(compact, 'base64')
}

/** The `Cert="..."` of the one element of an Envoy `X-Forwarded-Client-Cert` header. */
function xfccCert(value: string): string | undefined {
  // Elements are comma-separated, one a proxy hop: more than one means the header passed a hop
  // that appended to what the client sent, so none of them is trusted.
  let inQuotes = false
  let cert: string | undefined
  let start = 0
  for (let i = 0; i <= value.length; i++) {
    const c = value[i]
    if (c === '"') inQuotes = !inQuotes
    else if (!inQuotes && (c === ',' || c === undefined)) {
      if (c === ',') return undefined
      for (const pair of value.slice(start, i).split(/;(?=(?:[^"]*"[^"]*")*[^"]*$)/)) {
        const eq = pair.indexOf('=')
        if (eq !== -1 && pair.slice(0, eq).trim().toLowerCase() === 'cert') {
          cert = pair.slice(eq + 1).trim()
          if (cert.startsWith('"') && cert.endsWith('"')) cert = cert.slice(1, -1)
        }
      }
      start = i + 1
    }
  }
  return cert
}

/**
 * The DER bytes of a certificate a proxy forwarded in a header, in the spellings proxies use:
 * RFC 9440 `Client-Cert` (`:base64:`), Envoy `X-Forwarded-Client-Cert` (`Cert="<URL-encoded
 * PEM>"`), a URL-encoded PEM (nginx `$ssl_client_escaped_cert`, AWS ALB), a PEM whose line breaks
 * became spaces, or bare base64 DER (Traefik). `undefined` for anything else.
 */
export function forwardedDer(header: string, value: string): Uint8Array | undefined {
  let text = value.trim()
  if (header === 'x-forwarded-client-cert') {
    const cert = xfccCert(text)
    if (cert === undefined) return undefined
    text = cert
  }
  const sf = /^:([A-Za-z0-9+/]+={0,2}):$/.exec(text)
  if (sf !== null) return base64Der(sf[1]!)
  if (text.includes('%')) {
    try {
      text = decodeURIComponent(text)
    } catch {
      return undefined
    }
  }
  const pem = PEM.exec(text)
  return base64Der(pem === null ? text : pem[1]!)
}

/** Where a guard reads the client certificate from, checked at build time. */
export interface CertificateSource {
  /** The forwarded-certificate header, lower case; `undefined` when only TLS counts. */
  readonly header: string | undefined
}

const HEADER_NAME = /^[a-z0-9!#$%&'*+.^_`|~-]+$/

/** Checks a `forwardedCertificateHeader` option. */
export function certificateSource(header: unknown, where: string): CertificateSource {
  if (header === undefined) return { header: undefined }
  if (typeof header !== 'string' || !HEADER_NAME.test(header.toLowerCase())) {
    throw new TypeError(
      `${where}: forwardedCertificateHeader is the name of the header your TLS-terminating proxy puts the client certificate in, e.g. 'x-forwarded-client-cert' (Envoy) or 'x-ssl-client-cert' (nginx).`,
    )
  }
  return { header: header.toLowerCase() }
}

/**
 * Whether the connection comes from a proxy the framework trusts: the framework took the client
 * address from the forwarding headers (`X-Forwarded-For`) instead of the socket, which it does
 * only under its trust-proxy rule for that peer. A request view without a Node socket, or whose
 * adapter says the framework trusts no proxy, never counts as proxied.
 */
export function fromTrustedProxy(req: SecurityRequest): boolean {
  if (req.proxyTrust === 'none') return false
  const peer = (req as { raw?: { socket?: { remoteAddress?: string } } }).raw?.socket?.remoteAddress
  const ip = req.ip
  if (peer === undefined || ip === undefined) return false
  return clientAddress(peer) !== ip
}

/** What a request presented: a certificate, none, or a forwarded header that could not be read. */
export type Presented = ClientCertificate | undefined | 'unreadable'

/**
 * The client certificate of a request: the forwarded header when the source names one and the
 * peer is a trusted proxy, otherwise the TLS connection's. A forwarded header from any other
 * peer is ignored, with a warning once: the client itself may have written it.
 */
export function presentedCertificate(ctx: SecurityContext, source: CertificateSource): Presented {
  const req = ctx.req
  const header = source.header
  if (header !== undefined) {
    const values = req.headerValues(header)
    if (fromTrustedProxy(req)) {
      if (req.proxyTrust === 'any') {
        warnOnce(
          'APIWARD_CERTIFICATE_HEADER_ANY_PROXY',
          `The framework trusts every peer as a proxy, so any client that reaches this server directly can send the ${header} header of someone else's certificate. Trust only your proxy's address or hop count.`,
          'auth.md#forwarded-certificates',
        )
      }
      if (values === undefined) return undefined
      const der = values.length === 1 ? forwardedDer(header, values[0]!) : undefined
      if (der === undefined) return 'unreadable'
      return parseCertificate(der, 'header') ?? 'unreadable'
    }
    if (values !== undefined) {
      warnOnce(
        'APIWARD_UNTRUSTED_CERTIFICATE_HEADER',
        `A request from ${req.ip ?? 'an unknown peer'} sent the ${header} header, but the framework does not trust that peer as a proxy, so the header was ignored. Set the framework's trust-proxy option to your TLS-terminating proxy, and let the proxy overwrite the header.`,
        'auth.md#forwarded-certificates',
      )
    }
  }
  const tls = req.tls
  const raw = tls?.peerCertificate?.raw
  if (raw === undefined || raw.length === 0) return undefined
  return parseCertificate(raw, 'tls') ?? 'unreadable'
}
