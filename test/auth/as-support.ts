import { randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createLocalJWKSet, type JWK, jwtVerify, SignJWT } from 'jose'
import { ENDLESS_BYTES, type SigningKey, signingKey, streamEndlessly } from './jwt-support.js'

/** How the introspection endpoint answers, whatever the token. */
export type EndpointMode =
  | 'ok'
  | 'slow'
  | 'down'
  | 'garbage'
  | 'not-an-object'
  | 'no-active'
  | 'oversized'
  | 'endless'
  | 'json-when-jwt-asked'
  | 'forged-jwt'
  | 'html'

/** How the metadata documents are answered. */
export type MetadataMode = 'ok' | 'slow' | 'garbage' | 'endless'

/** Which well-known documents the server publishes for an issuer. */
export type Publishes = 'both' | 'rfc8414' | 'openid' | 'none'

/** A client registered at the authorization server. */
export interface RegisteredClient {
  id: string
  secret?: string
  /** The public key of a `private_key_jwt` client. */
  jwk?: JWK
}

/** One issuer hosted by the server: at its root, or below a path. */
export interface HostedIssuer {
  /** The issuer identifier, e.g. `http://127.0.0.1:4000/tenants/acme`. */
  readonly issuer: string
  readonly introspectionEndpoint: string
  readonly jwksUri: string
  publishes: Publishes
  /** The `issuer` the metadata names; the real one unless a test lies. */
  claimedIssuer: string
  /** Extra metadata members. */
  extra: Record<string, unknown>
}

/** A real authorization server on loopback: RFC 8414 and OpenID metadata, a JWKS, RFC 7662 introspection. */
export interface AuthorizationServer {
  readonly origin: string
  /** The issuer at the root (`http://127.0.0.1:<port>/`). */
  readonly root: HostedIssuer
  /** The issuer with a path (`http://127.0.0.1:<port>/tenants/acme`). */
  readonly tenant: HostedIssuer
  /** Answers by token; an unknown token is `{ active: false }`. */
  readonly tokens: Map<string, Record<string, unknown>>
  readonly clients: Map<string, RegisteredClient>
  mode: EndpointMode
  metadataMode: MetadataMode
  slowMs: number
  /** The key the server signs JWT answers with (its JWKS holds its public part). */
  readonly key: SigningKey
  /** Requests per path, e.g. `hits['/introspect']`. */
  readonly hits: Record<string, number>
  /** How the last introspection request authenticated, and its form. */
  last: { method: string | undefined; form: URLSearchParams | undefined; accept: string | undefined }
  /** Bytes of `endless` answers handed to sockets, and answers dropped by the client. */
  streamed: number
  dropped: number
  /** Adds an active token and returns it; `claims` go over `{ active: true, sub, aud, exp, scope, client_id }`. */
  issue(claims?: Record<string, unknown>, issuer?: HostedIssuer): string
  close(): Promise<void>
}

export const API_AUDIENCE = 'https://api.example.test'

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
  })
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
}

/** Which registered client the request authenticates as, `undefined` when it does not. */
async function authenticatedClient(
  req: IncomingMessage,
  form: URLSearchParams,
  clients: Map<string, RegisteredClient>,
  issuer: HostedIssuer,
): Promise<{ client: RegisteredClient; method: string } | undefined> {
  const basic = req.headers.authorization
  if (basic?.startsWith('Basic ')) {
    const decoded = Buffer.from(basic.slice(6), 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    const id = decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' '))
    const secret = decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, ' '))
    const client = clients.get(id)
    return client?.secret !== undefined && client.secret === secret
      ? { client, method: 'client_secret_basic' }
      : undefined
  }
  const assertion = form.get('client_assertion')
  if (assertion !== null) {
    if (form.get('client_assertion_type') !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer')
      return undefined
    const client = clients.get(form.get('client_id') ?? '')
    if (client?.jwk === undefined) return undefined
    try {
      const { payload } = await jwtVerify(assertion, createLocalJWKSet({ keys: [client.jwk] }), {
        issuer: client.id,
        subject: client.id,
        audience: [issuer.issuer, issuer.introspectionEndpoint],
        requiredClaims: ['exp', 'jti', 'iat'],
      })
      if ((payload.exp as number) - (payload.iat as number) > 300) return undefined
      return { client, method: 'private_key_jwt' }
    } catch {
      return undefined
    }
  }
  const client = clients.get(form.get('client_id') ?? '')
  const secret = form.get('client_secret')
  return client?.secret !== undefined && secret === client.secret
    ? { client, method: 'client_secret_post' }
    : undefined
}

export async function startAuthorizationServer(): Promise<AuthorizationServer> {
  const key = await signingKey('ES256', 'as-1')
  const forger = await signingKey('ES256', 'as-1')
  const tokens = new Map<string, Record<string, unknown>>()
  const clients = new Map<string, RegisteredClient>()
  const hits: Record<string, number> = {}
  const hosted: HostedIssuer[] = []
  const state = {
    mode: 'ok' as EndpointMode,
    metadataMode: 'ok' as MetadataMode,
    slowMs: 5000,
    streamed: 0,
    dropped: 0,
    last: { method: undefined, form: undefined, accept: undefined } as AuthorizationServer['last'],
  }

  const introspect = async (req: IncomingMessage, res: ServerResponse, issuer: HostedIssuer) => {
    const form = new URLSearchParams(await readBody(req))
    const who = await authenticatedClient(req, form, clients, issuer)
    state.last = { method: who?.method, form, accept: req.headers.accept }
    if (who === undefined) return json(res, 401, { error: 'invalid_client' })
    const mode = state.mode
    if (mode === 'down') return void res.writeHead(503).end('unavailable')
    if (mode === 'garbage')
      return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"active": tr')
    if (mode === 'html') return void res.writeHead(200, { 'content-type': 'text/html' }).end('<h1>Login</h1>')
    if (mode === 'not-an-object') return json(res, 200, [{ active: true }])
    if (mode === 'no-active') return json(res, 200, { sub: 'alice', aud: API_AUDIENCE })
    if (mode === 'oversized') return json(res, 200, { active: false, pad: 'x'.repeat(200_000) })
    if (mode === 'endless') return streamEndlessly(res, state, ENDLESS_BYTES, '{"active":true}')
    const answer = tokens.get(form.get('token') ?? '') ?? { active: false }
    const wantsJwt = req.headers.accept?.includes('application/token-introspection+jwt') === true
    if (!wantsJwt || mode === 'json-when-jwt-asked') return json(res, 200, answer)
    const signer = mode === 'forged-jwt' ? forger : key
    const signed = await new SignJWT({ token_introspection: answer })
      .setProtectedHeader({ alg: 'ES256', kid: signer.kid, typ: 'token-introspection+jwt' })
      .setIssuer(issuer.issuer)
      .setAudience(who.client.id)
      .setIssuedAt()
      .sign(signer.privateKey)
    res.writeHead(200, { 'content-type': 'application/token-introspection+jwt' }).end(signed)
  }

  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname
    hits[path] = (hits[path] ?? 0) + 1
    const answer = async () => {
      if (path === '/jwks' || path === '/tenants/acme/jwks') return json(res, 200, { keys: [key.publicJwk] })
      for (const issuer of hosted) {
        const issuerPath = new URL(issuer.issuer).pathname.replace(/\/$/, '')
        const rfc8414 = `/.well-known/oauth-authorization-server${issuerPath}`
        const openid = `${issuerPath}/.well-known/openid-configuration`
        const served =
          (path === rfc8414 && (issuer.publishes === 'both' || issuer.publishes === 'rfc8414')) ||
          (path === openid && (issuer.publishes === 'both' || issuer.publishes === 'openid'))
        if (served) {
          if (state.metadataMode === 'garbage') return void res.writeHead(200).end('{"issuer": ')
          if (state.metadataMode === 'endless')
            return streamEndlessly(res, state, ENDLESS_BYTES, '{"active":true}')
          return json(res, 200, {
            issuer: issuer.claimedIssuer,
            jwks_uri: issuer.jwksUri,
            introspection_endpoint: issuer.introspectionEndpoint,
            introspection_endpoint_auth_methods_supported: [
              'client_secret_basic',
              'client_secret_post',
              'private_key_jwt',
            ],
            ...issuer.extra,
          })
        }
        if (req.method === 'POST' && path === new URL(issuer.introspectionEndpoint).pathname) {
          return introspect(req, res, issuer)
        }
      }
      json(res, 404, { error: 'not_found' })
    }
    const run = () =>
      answer().catch((err: unknown) => {
        if (!res.headersSent) json(res, 500, { error: String(err) })
      })
    const slow = path.includes('introspect')
      ? state.mode === 'slow'
      : path.includes('/.well-known/') && state.metadataMode === 'slow'
    if (slow) setTimeout(run, state.slowMs).unref()
    else void run()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const host = (issuer: string, base: string): HostedIssuer => {
    const entry = {
      issuer,
      introspectionEndpoint: `${base}/introspect`,
      jwksUri: `${base}/jwks`,
      publishes: 'both' as Publishes,
      claimedIssuer: issuer,
      extra: {},
    }
    hosted.push(entry)
    return entry
  }
  const root = host(`${origin}/`, origin)
  const tenant = host(`${origin}/tenants/acme`, `${origin}/tenants/acme`)
  return Object.assign(state, {
    origin,
    root,
    tenant,
    tokens,
    clients,
    key,
    hits,
    issue(claims: Record<string, unknown> = {}, issuer: HostedIssuer = root) {
      const token = randomBytes(24).toString('base64url')
      tokens.set(token, {
        active: true,
        iss: issuer.issuer,
        sub: 'alice',
        client_id: 'notes-app',
        aud: API_AUDIENCE,
        scope: 'notes:read notes:write',
        exp: Math.floor(Date.now() / 1000) + 600,
        iat: Math.floor(Date.now() / 1000),
        ...claims,
      })
      return token
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  })
}
