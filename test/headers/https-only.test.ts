import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer as createHttpsServer, request as httpsRequest } from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type AnySecurityEvent, SecurityEventBus } from '@apiward/core'
import { errorHandler as expressErrors, guard as expressGuard } from '@apiward/express'
import { apiward } from '@apiward/fastify'
import { httpsOnly, secureHeaders } from '@apiward/headers'
import { errorHandler as koaErrors, guard as koaGuard } from '@apiward/koa'
import express from 'express'
import fastify from 'fastify'
import Koa from 'koa'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { send } from '../conformance/client.js'
import type { RunningServer } from '../conformance/harness.js'
import { harnesses } from '../conformance/servers/index.js'

const CANONICAL = 'https://api.example.test'

describe.each(harnesses)('$name: httpsOnly() on plain HTTP', (harness) => {
  let refusing: RunningServer
  let redirecting: RunningServer
  let proxied: RunningServer
  const events: AnySecurityEvent[] = []
  beforeAll(async () => {
    const bus = new SecurityEventBus()
    bus.on((event) => events.push(event))
    const routes = [
      { method: 'GET' as const, path: '/notes' },
      { method: 'POST' as const, path: '/notes' },
    ]
    refusing = await harness.start({ events: bus, firstGuards: [secureHeaders(), httpsOnly()], routes })
    redirecting = await harness.start({
      firstGuards: [httpsOnly({ redirectTo: CANONICAL })],
      routes,
    })
    proxied = await harness.start({ trustProxy: 1, firstGuards: [httpsOnly()], routes })
  })
  afterAll(async () => {
    await refusing.close()
    await redirecting.close()
    await proxied.close()
  })

  it('refuses a plain-HTTP request with a 403 problem that carries the secure headers', async () => {
    const answer = await send(`${refusing.url}/notes`)
    expect(answer.status).toBe(403)
    expect(answer.headers['content-type']).toMatch(/^application\/problem\+json/)
    expect(answer.json.code).toBe('request.https_required')
    expect(answer.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains')
    const event = events.find(
      (e) => e.requestId === answer.headers['x-request-id'] && e.type === 'https.required',
    )
    expect(event).toMatchObject({ redirected: false, severity: 'warn' })
  })

  it('ignores X-Forwarded-Proto from a client no trust-proxy setting trusts', async () => {
    const answer = await send(`${refusing.url}/notes`, { headers: { 'X-Forwarded-Proto': 'https' } })
    expect(answer.status).toBe(403)
  })

  it('serves a request a trusted proxy says arrived over HTTPS', async () => {
    const answer = await send(`${proxied.url}/notes`, { headers: { 'X-Forwarded-Proto': 'https' } })
    expect(answer.status).toBe(200)
    expect((await send(`${proxied.url}/notes`, { headers: { 'X-Forwarded-Proto': 'http' } })).status).toBe(
      403,
    )
  })

  it('redirects GET to the canonical origin with the path and query, never to the Host it was sent', async () => {
    const answer = await send(`${redirecting.url}/notes?page=2`, { headers: { Host: 'evil.test' } })
    expect(answer.status).toBe(308)
    expect(answer.headers.location).toBe(`${CANONICAL}/notes?page=2`)
    expect(answer.text).toBe('')
  })

  it('redirects an absolute-form target to the canonical origin, not to the host it names', async () => {
    const answer = await send(`${redirecting.url}/notes`, { target: 'http://evil.test/notes?x=1' })
    expect(answer.status).toBe(308)
    expect(answer.headers.location).toBe(`${CANONICAL}/notes?x=1`)
  })

  it('refuses a POST instead of redirecting it, so its body is not sent twice', async () => {
    const answer = await send(`${redirecting.url}/notes`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{}',
    })
    expect(answer.status).toBe(403)
    expect(answer.headers.location).toBeUndefined()
  })
})

interface TlsFiles {
  key: Buffer
  cert: Buffer
}

function generateCertificate(): TlsFiles {
  const dir = mkdtempSync(join(tmpdir(), 'apiward-tls-'))
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    )
    return { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

function getOverTls(url: string, ca: Buffer): Promise<{ status: number; hsts: unknown }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { ca, agent: false }, (res) => {
      res.resume()
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, hsts: res.headers['strict-transport-security'] }),
      )
    })
    req.on('error', reject)
    req.end()
  })
}

describe('httpsOnly() over a real TLS connection', () => {
  let tls: TlsFiles
  const closers: (() => Promise<void>)[] = []
  const urls: Record<string, string> = {}
  beforeAll(async () => {
    tls = generateCertificate()
    const listenTls = (handler: Parameters<typeof createHttpsServer>[1]) =>
      new Promise<string>((resolve) => {
        const server = createHttpsServer({ key: tls.key, cert: tls.cert }, handler)
        server.listen(0, '127.0.0.1', () => {
          closers.push(
            () =>
              new Promise((done) => {
                server.closeAllConnections()
                server.close(() => done())
              }),
          )
          resolve(`https://127.0.0.1:${(server.address() as AddressInfo).port}`)
        })
      })
    const ex = express()
    ex.use(expressGuard(secureHeaders(), httpsOnly()))
    ex.get('/notes', (_req, res) => {
      res.json({ ok: true })
    })
    ex.use(expressErrors())
    urls.express = await listenTls(ex)
    const koa = new Koa()
    koa.use(koaGuard(secureHeaders(), httpsOnly()))
    koa.use(koaErrors())
    koa.use((ctx) => {
      ctx.body = { ok: true }
    })
    urls.koa = await listenTls(koa.callback())
    const fy = fastify({ https: { key: tls.key, cert: tls.cert } })
    await fy.register(apiward, { guards: [secureHeaders(), httpsOnly()] })
    fy.get('/notes', async () => ({ ok: true }))
    await fy.listen({ port: 0, host: '127.0.0.1' })
    closers.push(() => fy.close())
    urls.fastify = `https://127.0.0.1:${(fy.server.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    for (const close of closers) await close()
  })

  it.each(['express', 'koa', 'fastify'])(
    'serves a request that arrived over TLS on %s',
    async (framework) => {
      const answer = await getOverTls(`${urls[framework]}/notes`, tls.cert)
      expect(answer.status).toBe(200)
      expect(answer.hsts).toBe('max-age=31536000; includeSubDomains')
    },
  )
})
