import { type ChildProcess, spawn } from 'node:child_process'
import { createServer } from 'node:http'
import { fileURLToPath } from 'node:url'
import { getRequestListener } from '@hono/node-server'
import { SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { send } from '../conformance/client.js'
import { listen } from '../conformance/harness.js'
import { ENTRIES, scenarioHandler, TOKEN } from './app.js'

const TEST_DIR = fileURLToPath(new URL('..', import.meta.url))
const SCRIPT = fileURLToPath(new URL('./serve-runtime.ts', import.meta.url))
/** A generated request ID: long enough to be unguessable, in the characters an echoed one may use. */
const REQUEST_ID = /^[\w.-]{16,128}$/
const PROBLEM = /^application\/problem\+json/

interface Served {
  url: string
  close(): Promise<void>
  /** What the child printed before it listened. */
  output?: string
}

/** Starts the scenario app in a child process of `binary` and resolves once it listens. */
function child(binary: string, args: string[]): Promise<Served> {
  return new Promise((resolve, reject) => {
    const proc: ChildProcess = spawn(`${TEST_DIR}node_modules/.bin/${binary}`, [...args, SCRIPT], {
      cwd: TEST_DIR,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    const timer = setTimeout(() => {
      proc.kill()
      reject(new Error(`${binary} did not start: ${output}`))
    }, 60_000)
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      const port = /listening (\d+)/.exec(output)?.[1]
      if (port === undefined) return
      clearTimeout(timer)
      resolve({
        output,
        url: `http://127.0.0.1:${port}`,
        close: () =>
          new Promise((done) => {
            if (proc.exitCode !== null) return done()
            proc.once('exit', () => done())
            proc.kill()
          }),
      })
    }
    proc.stdout!.on('data', onData)
    proc.stderr!.on('data', onData)
    proc.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`${binary} exited with ${code}: ${output}`))
    })
  })
}

const RUNTIMES: Array<[name: string, start: () => Promise<Served>]> = [
  ['Node (@hono/node-server)', () => listen(createServer(getRequestListener(scenarioHandler())))],
  ['Bun', () => child('bun', ['--conditions', 'apiward:source'])],
  [
    'Deno',
    () =>
      child('deno', [
        'run',
        '--allow-net',
        '--allow-read',
        '--allow-env',
        '--allow-sys',
        '--no-lock',
        '--conditions=apiward:source',
        '--sloppy-imports',
      ]),
  ],
]

const secret = new TextEncoder().encode(TOKEN.secret)
function token(sub = 'alice'): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  return new SignJWT({ sub })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer(TOKEN.issuer)
    .setAudience(TOKEN.audience)
    .setIssuedAt(now)
    .setExpirationTime(now + 600)
    .sign(secret)
}

describe.each(RUNTIMES)('the fetch-handler wrapper and Hono on %s', (_name, start) => {
  let served: Served
  let url: string
  beforeAll(async () => {
    served = await start()
    url = served.url
  }, 90_000)
  afterAll(() => served?.close())

  it('loads the main entry of every package', async () => {
    // A child reports what it could not load; on Node they load in this process.
    if (served.output !== undefined) {
      expect(served.output).toContain(`entries ${ENTRIES.length} failed []`)
      return
    }
    for (const entry of ENTRIES) expect(await import(entry)).toBeTypeOf('object')
  })

  it.each(['/fetch/allow', '/hono/allow'])(
    'lets a valid token through %s with the principal',
    async (path) => {
      const answer = await send(url + path, { headers: { Authorization: `Bearer ${await token()}` } })
      expect(answer.status).toBe(200)
      expect(answer.json).toEqual({ who: 'alice' })
      expect(answer.headers['x-guard']).toBe('ran')
      expect(answer.headers['x-request-id']).toMatch(REQUEST_ID)
    },
  )

  it.each(['/fetch/allow', '/hono/allow'])(
    'answers %s without a token with a 401 problem and its challenge',
    async (path) => {
      const answer = await send(url + path, { headers: { 'X-Request-Id': 'req-7' } })
      expect(answer.status).toBe(401)
      expect(answer.headers['content-type']).toMatch(PROBLEM)
      expect(answer.headers['www-authenticate']).toMatch(/^Bearer /)
      expect(answer.json).toMatchObject({ status: 401, requestId: 'req-7' })
      expect(answer.headers['x-request-id']).toBe('req-7')
    },
  )

  it.each(['/fetch/allow', '/hono/allow'])(
    'refuses two Authorization headers on %s, joined or not',
    async (path) => {
      // Node keeps every occurrence (the raw headers); Bun and Deno join them with ", ", which
      // no bearer token can contain: either way the request is refused before any verification.
      const [a, b] = [await token('alice'), await token('mallory')]
      const answer = await send(url + path, {
        headers: [
          ['Authorization', `Bearer ${a}`],
          ['Authorization', `Bearer ${b}`],
        ],
      })
      expect(answer.status).toBe(400)
      expect(answer.json).toMatchObject({ code: 'auth.invalid_request' })
    },
  )

  it.each(['/fetch/facts', '/hono/facts'])(
    'takes the client address of %s from the runtime, ignoring forwarding headers',
    async (path) => {
      const answer = await send(url + path, {
        headers: { 'X-Forwarded-For': '203.0.113.9', 'X-Forwarded-Proto': 'https', Host: 'api.test:8443' },
      })
      expect(answer.status).toBe(204)
      expect(answer.headers['x-ip']).toBe('127.0.0.1')
      expect(answer.headers['x-protocol']).toBe('http')
      expect(answer.headers['x-host']).toBe('api.test:8443')
    },
  )

  it.each(['/fetch/facts', '/hono/facts'])(
    'does not take %s for secure when the target names https on a plain connection',
    async (path) => {
      // Deno builds the URL of an absolute-form target from what the client wrote; the scheme of
      // that URL is not the connection's.
      const answer = await send(`${url}/`, { target: `https://api.example.com${path}` })
      expect(answer.status).toBe(204)
      expect(answer.headers['x-protocol']).toBe('http')
    },
  )

  it('reads the client, scheme and host a trusted proxy forwarded', async () => {
    const answer = await send(`${url}/fetch/facts-proxied`, {
      headers: {
        'X-Forwarded-For': '198.51.100.1, 203.0.113.9',
        'X-Forwarded-Proto': 'https',
        'X-Forwarded-Host': 'api.example.com',
      },
    })
    expect(answer.headers['x-ip']).toBe('203.0.113.9')
    expect(answer.headers['x-peer']).toBe('127.0.0.1')
    expect(answer.headers['x-protocol']).toBe('https')
    expect(answer.headers['x-host']).toBe('api.example.com')
  })

  it('gives guards the normalised path, and answers malformed percent-encoding with a 400 problem', async () => {
    const answer = await send(`${url}/`, { target: '/fetch/path/%61bc;jsessionid=1' })
    expect(answer.status).toBe(204)
    expect(answer.headers['x-path']).toBe('/fetch/path/abc')
    const malformed = await send(`${url}/`, { target: '/fetch/path/%E0%A4%A' })
    expect(malformed.status).toBe(400)
    expect(malformed.headers['content-type']).toMatch(PROBLEM)
    expect(malformed.json).toMatchObject({ code: 'request.invalid_path' })
  })

  it('lets a guard answer now without running the handler, keeping other guards’ headers', async () => {
    const answer = await send(`${url}/fetch/preflight`, { headers: { 'X-Preflight': '1' } })
    expect(answer.status).toBe(204)
    expect(answer.text).toBe('')
    expect(answer.headers['access-control-max-age']).toBe('600')
    expect(answer.headers['x-guard']).toBe('ran')
    expect((await send(`${url}/fetch/preflight`)).json).toEqual({ handler: true })
  })

  it.each(['/fetch/state', '/hono/state'])(
    'hands the handler of %s what a guard stored under a typed key',
    async (path) => {
      expect((await send(url + path)).json).toEqual({ tenant: { id: 't-1' } })
    },
  )

  it('applies onSend transformers to a JSON response', async () => {
    const answer = await send(`${url}/fetch/transform`)
    expect(answer.json).toEqual({ id: 1 })
    expect(answer.text).not.toContain('hunter2')
  })

  it('answers a handler that throws with a generic 500 problem', async () => {
    const answer = await send(`${url}/fetch/throws`)
    expect(answer.status).toBe(500)
    expect(answer.headers['content-type']).toMatch(PROBLEM)
    expect(answer.json).toMatchObject({ code: 'server.internal' })
    expect(answer.text).not.toMatch(/hunter2|\bat .*:\d+:\d+/)
  })

  it('lets a guard read the raw body and hand on what it parsed, the bytes still readable', async () => {
    const post = (body: string) =>
      send(`${url}/fetch/signed`, { method: 'POST', body, headers: { 'Content-Type': 'text/plain' } })
    const answer = await post('signed:hello')
    expect(answer.status).toBe(200)
    expect(answer.json).toEqual({ parsed: { verified: 'hello' }, raw: 'signed:hello' })
    expect((await post('unsigned')).status).toBe(403)
    const big = await post('signed:'.padEnd(65, 'x'))
    expect(big.status).toBe(413)
    expect(big.json).toMatchObject({ code: 'request.body_too_large' })
  })

  it('hands a Hono handler the body a guard parsed as its validated json', async () => {
    const answer = await send(`${url}/hono/signed`, {
      method: 'POST',
      body: 'signed:hi',
      headers: { 'Content-Type': 'text/plain' },
    })
    expect(answer.json).toEqual({ parsed: { verified: 'hi' } })
  })

  it('counts requests in the memory store of the runtime', async () => {
    const statuses: number[] = []
    for (let i = 0; i < 3; i++) statuses.push((await send(`${url}/fetch/limited`)).status)
    expect(statuses).toEqual([200, 200, 429])
  })

  it('answers from the Hono route table: 405 with Allow, 204 to OPTIONS, 404 elsewhere', async () => {
    const wrong = await send(`${url}/hono/items/1`, { method: 'PUT' })
    expect(wrong.status).toBe(405)
    expect(wrong.headers.allow).toBe('DELETE')
    expect(wrong.headers['content-type']).toMatch(PROBLEM)
    const options = await send(`${url}/hono/items/1`, { method: 'OPTIONS' })
    expect(options.status).toBe(204)
    expect(options.headers.allow).toBe('DELETE, OPTIONS')
    const missing = await send(`${url}/hono/nothing`)
    expect(missing.status).toBe(404)
    expect(missing.json).toMatchObject({ code: 'route.not_found' })
  })
})
