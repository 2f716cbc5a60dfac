import './mtls-reflect.js'
import { webcrypto } from 'node:crypto'
import { request as httpsRequest } from 'node:https'
import * as x509 from '@peculiar/x509'
import type { Answer } from '../conformance/client.js'

x509.cryptoProvider.set(webcrypto as never)

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const
const DAY = 86_400_000

/** A certificate with its private key, as PEM, and its DER bytes. */
export interface Issued {
  cert: string
  key: string
  der: Buffer
}

export interface Authority extends Issued {
  issue(options: IssueOptions): Promise<Issued>
}

export interface IssueOptions {
  subject: string
  dns?: string[]
  uris?: string[]
  emails?: string[]
  ips?: string[]
  notBefore?: Date
  notAfter?: Date
  server?: boolean
}

let serial = 1

function sanExtension(o: IssueOptions): x509.Extension[] {
  const names: x509.JsonGeneralName[] = [
    ...(o.dns ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(o.uris ?? []).map((value) => ({ type: 'url' as const, value })),
    ...(o.emails ?? []).map((value) => ({ type: 'email' as const, value })),
    ...(o.ips ?? []).map((value) => ({ type: 'ip' as const, value })),
  ]
  return names.length === 0 ? [] : [new x509.SubjectAlternativeNameExtension(names)]
}

async function pemKey(key: webcrypto.CryptoKey): Promise<string> {
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key))
  return `-----BEGIN PRIVATE KEY-----\n${pkcs8.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END PRIVATE KEY-----\n`
}

async function finish(cert: x509.X509Certificate, keys: webcrypto.CryptoKeyPair): Promise<Issued> {
  return { cert: cert.toString('pem'), key: await pemKey(keys.privateKey), der: Buffer.from(cert.rawData) }
}

function newKeys(): Promise<webcrypto.CryptoKeyPair> {
  return webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']) as Promise<webcrypto.CryptoKeyPair>
}

/** A CA that issues client and server certificates. */
export async function createAuthority(name: string): Promise<Authority> {
  const keys = await newKeys()
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: (serial++).toString(16).padStart(2, '0'),
    name: `CN=${name}`,
    notBefore: new Date(Date.now() - DAY),
    notAfter: new Date(Date.now() + 30 * DAY),
    keys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    ],
  })
  const own = await finish(ca, keys)
  return {
    ...own,
    async issue(o) {
      const leafKeys = await newKeys()
      const leaf = await x509.X509CertificateGenerator.create({
        serialNumber: (serial++).toString(16).padStart(2, '0'),
        subject: o.subject,
        issuer: ca.subject,
        notBefore: o.notBefore ?? new Date(Date.now() - DAY),
        notAfter: o.notAfter ?? new Date(Date.now() + 10 * DAY),
        publicKey: leafKeys.publicKey,
        signingKey: keys.privateKey,
        signingAlgorithm: ALG,
        extensions: [
          new x509.BasicConstraintsExtension(false),
          new x509.ExtendedKeyUsageExtension([
            o.server ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth,
          ]),
          ...sanExtension(o),
        ],
      })
      return finish(leaf, leafKeys)
    },
  }
}

/** A self-signed client certificate (RFC 8705 section 2.2), no CA. */
export async function selfSigned(subject: string, o: Omit<IssueOptions, 'subject'> = {}): Promise<Issued> {
  const keys = await newKeys()
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: (serial++).toString(16).padStart(2, '0'),
    name: subject,
    notBefore: o.notBefore ?? new Date(Date.now() - DAY),
    notAfter: o.notAfter ?? new Date(Date.now() + 10 * DAY),
    keys,
    signingAlgorithm: ALG,
    extensions: [new x509.BasicConstraintsExtension(false), ...sanExtension({ subject, ...o })],
  })
  return finish(cert, keys)
}

/** The base64url SHA-256 of DER bytes, computed here independently of the code under test. */
export async function thumbprintOf(der: Buffer): Promise<string> {
  return Buffer.from(await webcrypto.subtle.digest('SHA-256', der)).toString('base64url')
}

/** Everything a TLS test needs: a server CA, a server certificate for 127.0.0.1, a client CA. */
export interface Pki {
  serverCa: Authority
  server: Issued
  clientCa: Authority
  otherCa: Authority
}

export async function createPki(): Promise<Pki> {
  const serverCa = await createAuthority('apiward test server CA')
  const server = await serverCa.issue({ subject: 'CN=127.0.0.1', ips: ['127.0.0.1'], server: true })
  return {
    serverCa,
    server,
    clientCa: await createAuthority('apiward test client CA'),
    otherCa: await createAuthority('some other CA'),
  }
}

/** TLS options of a server that asks for client certificates and leaves the verdict to the guard. */
export function serverTls(pki: Pki) {
  return {
    key: pki.server.key,
    cert: pki.server.cert,
    ca: [pki.clientCa.cert],
    requestCert: true,
    rejectUnauthorized: false,
  }
}

export interface TlsSendOptions {
  method?: string
  headers?: Record<string, string>
  client?: Issued
}

/** One HTTPS request over a fresh connection, with or without a client certificate. */
export function sendTls(url: string, pki: Pki, options: TlsSendOptions = {}): Promise<Answer> {
  const target = new URL(url)
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname + target.search,
        method: options.method ?? 'GET',
        headers: options.headers,
        ca: pki.serverCa.cert,
        cert: options.client?.cert,
        key: options.client?.key,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8')
          let json: unknown
          try {
            json = text === '' ? undefined : JSON.parse(text)
          } catch {
            json = undefined
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json })
        })
        res.on('error', reject)
      },
    )
    req.on('error', reject)
    req.end()
  })
}
