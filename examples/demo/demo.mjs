// The narrated demo: starts the reference API (examples/express, or the example directory given as
// the first argument: `node examples/demo/demo.mjs examples/koa`) as a child process, sends it good
// and hostile requests, prints who answered each one, then verifies the audit log's hash chain.
// Exits 1 when an answer is not the one the reference API promises, or when the chain does not verify.
import { spawn, spawnSync } from 'node:child_process'
import { createHmac, createPrivateKey, createPublicKey, sign } from 'node:crypto'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { formatLine, verifyFiles } from '@apiward/audit-log'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const EXAMPLE = resolve(process.argv[2] ?? join(ROOT, 'examples/express'))
const NAME = relative(ROOT, EXAMPLE) || EXAMPLE
const KEYS = join(ROOT, 'examples/keys')
const ISSUER = 'https://issuer.example.test/'
const AUDIENCE = 'notes-api'
const POINTS = 20
const ALLOWED_ORIGIN = 'https://app.example.test'

const useColor = process.stdout.hasColors?.() === true && !process.env.NO_COLOR
const paint = (code) => (text) => (useColor ? `\x1b[${code}m${text}\x1b[0m` : text)
const green = paint('32')
const red = paint('31')
const yellow = paint('33')
const dim = paint('2')
const bold = paint('1')

/** Stops the demo with a message that says what to do. */
function fail(message) {
  console.error(red(`demo: ${message}`))
  process.exit(1)
}

// ---- the dev key of examples/keys/ --------------------------------------------------------------

/** The bundled dev signing key (a private JWK, a JWKS holding one, or a PEM) and its `kid`. */
function loadDevKey() {
  if (!existsSync(KEYS)) fail(`${KEYS} does not exist: the reference API's dev key set is missing`)
  let privateKey
  let kid
  for (const name of readdirSync(KEYS).sort()) {
    const text = readFileSync(join(KEYS, name), 'utf8')
    if (text.includes('PRIVATE KEY-----')) {
      privateKey ??= createPrivateKey(text)
      continue
    }
    let json
    try {
      json = JSON.parse(text)
    } catch {
      continue
    }
    for (const jwk of Array.isArray(json?.keys) ? json.keys : [json]) {
      if (typeof jwk !== 'object' || jwk === null || typeof jwk.kty !== 'string') continue
      if (typeof jwk.d === 'string' && privateKey === undefined) {
        const { kid: _kid, alg: _alg, use: _use, key_ops: _ops, ...material } = jwk
        privateKey = createPrivateKey({ key: material, format: 'jwk' })
        if (typeof jwk.kid === 'string') kid = jwk.kid
      } else if (kid === undefined && typeof jwk.kid === 'string') {
        kid = jwk.kid
      }
    }
  }
  if (privateKey === undefined) fail(`no private key in ${KEYS} (a PEM or a JWK with "d")`)
  return { privateKey, kid }
}

const b64url = (value) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url')

function claims(sub, scope, roles) {
  const now = Math.floor(Date.now() / 1000)
  return { iss: ISSUER, aud: AUDIENCE, sub, scope, roles, iat: now, exp: now + 600 }
}

/** An ES256 token signed with the dev key, as `pnpm --dir examples token` prints. */
function es256(key, payload) {
  const header = { alg: 'ES256', typ: 'JWT', ...(key.kid === undefined ? {} : { kid: key.kid }) }
  const input = `${b64url(header)}.${b64url(payload)}`
  const signature = sign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' })
  return `${input}.${signature.toString('base64url')}`
}

/** The unsigned token of the `alg: none` attack. */
const algNone = (payload) => `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(payload)}.`

/** The key-confusion attack: an HS256 token whose HMAC secret is the public key's PEM text. */
function hs256WithPublicKey(key, payload) {
  const pem = createPublicKey(key.privateKey).export({ type: 'spki', format: 'pem' })
  const header = { alg: 'HS256', typ: 'JWT', ...(key.kid === undefined ? {} : { kid: key.kid }) }
  const input = `${b64url(header)}.${b64url(payload)}`
  return `${input}.${createHmac('sha256', pem).update(input).digest('base64url')}`
}

// ---- the example as a child process -------------------------------------------------------------

function freePort() {
  return new Promise((done, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => done(port))
    })
  })
}

/** A plain `node ...` command runs with this Node; anything else goes through a shell. */
function commandOf(script) {
  const words = script.trim().split(/\s+/)
  if (words[0] === 'node' && !/[|&;<>()$`"'\\*?]/.test(script)) {
    return { command: process.execPath, args: words.slice(1), shell: false }
  }
  return { command: script, args: [], shell: true }
}

/**
 * The example's `start` script: the steps before the last `&&` (its build) run to completion
 * here, and the last one is the server, spawned directly so that SIGTERM reaches it.
 */
function startCommand() {
  const manifest = join(EXAMPLE, 'package.json')
  if (!existsSync(manifest)) fail(`${EXAMPLE} has no package.json: the demo runs a reference API example`)
  const script = JSON.parse(readFileSync(manifest, 'utf8')).scripts?.start
  if (typeof script !== 'string') fail(`${manifest} has no "start" script`)
  const steps = script.split('&&')
  for (const step of steps.slice(0, -1)) {
    const { command, args, shell } = commandOf(step)
    const done = spawnSync(command, args, { cwd: EXAMPLE, shell, stdio: 'inherit' })
    if (done.status !== 0) fail(`"${step.trim()}" in ${NAME} failed (${done.status ?? done.signal})`)
  }
  return commandOf(steps.at(-1))
}

async function startExample(port, auditFile) {
  const { command, args, shell } = startCommand()
  const env = { ...process.env, HOST: '127.0.0.1', PORT: String(port), AUDIT_LOG: auditFile }
  Object.assign(env, { JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE, TRUST_PROXY: '0' })
  Object.assign(env, { RATE_LIMIT_POINTS: String(POINTS), RATE_LIMIT_DURATION: '60' })
  for (const name of ['JWKS_URL', 'REDIS_URL', 'REDIS_CLUSTER_NODES', 'REPORTS_API_KEY']) delete env[name]
  // A shell gets its own process group, so that SIGTERM reaches the server it started.
  const child = spawn(command, args, {
    cwd: EXAMPLE,
    env,
    shell,
    detached: shell,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const signal = (name) => (shell ? process.kill(-child.pid, name) : child.kill(name))
  let output = ''
  child.stdout.on('data', (chunk) => {
    output += chunk
  })
  child.stderr.on('data', (chunk) => {
    output += chunk
  })
  const exited = new Promise((done) => child.once('exit', (code, signal) => done({ code, signal })))
  const base = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 20_000
  for (;;) {
    const early = await Promise.race([exited, new Promise((done) => setTimeout(done, 100))])
    if (early !== undefined) fail(`${NAME} exited (${early.code ?? early.signal}):\n${output}`)
    const ready = await fetch(`${base}/health`).then(
      (res) => res.ok,
      () => false,
    )
    if (ready) break
    if (Date.now() > deadline) {
      signal('SIGKILL')
      fail(`${NAME} did not answer GET /health within 20 s:\n${output}`)
    }
  }
  return { child, signal, base, exited, output: () => output }
}

// ---- requests and expectations ------------------------------------------------------------------

let sequence = 0

/** Sends one request with its own `X-Request-Id`, and reads the problem code of an error. */
async function send(base, { method = 'GET', path, headers = {}, json, body }) {
  const requestId = `demo-${String(++sequence).padStart(3, '0')}`
  const init = { method, headers: { 'x-request-id': requestId, ...headers } }
  if (json !== undefined || body !== undefined) {
    init.headers['content-type'] = 'application/json'
    init.body = body ?? JSON.stringify(json)
  }
  const res = await fetch(base + path, init)
  const text = await res.text()
  let code
  if ((res.headers.get('content-type') ?? '').startsWith('application/problem+json')) {
    try {
      code = JSON.parse(text).code
    } catch {
      code = '(unreadable problem)'
    }
  }
  return { requestId, method, path, status: res.status, code, headers: res.headers, text }
}

/** Which guard answers a code, when the audit log does not say more. */
const GUARD_OF_CODE = {
  'auth.invalid_token': 'jwt()',
  'auth.missing_token': 'jwt()',
  'auth.missing_credentials': 'anyOf()',
  'auth.invalid_api_key': 'apiKey()',
  'authz.insufficient_scope': 'scopes()',
  'authz.forbidden': 'casbin()',
  'validation.rejected': 'validate()',
  'validation.forbidden_key': 'jsonBody()',
  'validation.body_too_complex': 'jsonBody()',
  'request.malformed_body': 'jsonBody()',
  'request.unsupported_media_type': 'jsonBody()',
  'ratelimit.exceeded': 'rateLimit()',
  'ratelimit.too_many_failures': 'bruteForce()',
  'request.unsupported_version': 'apiVersion()',
  'route.not_found': 'router',
  'route.method_not_allowed': 'router',
}

/** The guard named by the request's own audit line (authz events carry it, limiters their name). */
function guardFromAudit(lines, result) {
  for (const line of lines) {
    if (line.requestId !== result.requestId) continue
    if (line.event === 'authz.denied' && typeof line.guard === 'string') return `${line.guard}()`
    if (line.event === 'ratelimit.exceeded' && typeof line.limiter === 'string') {
      return result.code === 'ratelimit.too_many_failures'
        ? `bruteForce("${line.limiter}")`
        : `rateLimit("${line.limiter}")`
    }
  }
  return undefined
}

const rows = []

/** Records one answer against what the reference API promises. */
function expect(label, result, { status, code, check, guard }) {
  const problems = []
  if (result.status !== status) problems.push(`status ${result.status}, expected ${status}`)
  if (code !== undefined && result.code !== code)
    problems.push(`code ${result.code ?? 'none'}, expected ${code}`)
  if (status >= 400 && result.code === undefined) problems.push('not an application/problem+json answer')
  const note = check?.(result)
  if (typeof note === 'string') problems.push(note)
  rows.push({ label, result, guard, problems })
}

// ---- the walk -----------------------------------------------------------------------------------

const key = loadDevKey()
const workDir = mkdtempSync(join(tmpdir(), 'apiward-demo-'))
const auditFile = join(workDir, 'audit.log')
const port = await freePort()
console.log(bold(`apiward demo: the reference notes API (${NAME}), under attack\n`))
console.log(dim(`starting ${NAME} on 127.0.0.1:${port}, audit log ${auditFile}`))
const app = await startExample(port, auditFile)
const { base } = app

const alice = es256(key, claims('alice', 'notes:read notes:write', ['user']))
const aliceReadOnly = es256(key, claims('alice', 'notes:read', ['user']))
const mallory = es256(key, claims('mallory', 'notes:read', ['user']))
const bearer = (token) => ({ authorization: `Bearer ${token}` })

try {
  expect('a valid token lists its own notes', await send(base, { path: '/notes', headers: bearer(alice) }), {
    status: 200,
    guard: 'every guard passed',
    check: (r) =>
      JSON.parse(r.text).items?.every((note) => note.ownerId === 'alice') === true || 'notes of someone else',
  })
  expect(
    'alg: none (an unsigned token)',
    await send(base, { path: '/notes', headers: bearer(algNone(claims('alice', 'notes:read', ['admin']))) }),
    { status: 401, code: 'auth.invalid_token' },
  )
  expect(
    'HS256 signed with the public key',
    await send(base, {
      path: '/notes',
      headers: bearer(hs256WithPublicKey(key, claims('alice', 'notes:read', ['admin']))),
    }),
    { status: 401, code: 'auth.invalid_token' },
  )
  expect(
    "another user's note (alice reads bob's)",
    await send(base, { path: '/notes/note-bob-1', headers: bearer(alice) }),
    {
      status: 404,
      code: 'route.not_found',
      check: (r) => !r.text.includes('note-bob-1"') || 'the note leaked',
    },
  )
  expect(
    'a write without the notes:write scope',
    await send(base, {
      method: 'POST',
      path: '/notes',
      headers: bearer(aliceReadOnly),
      json: { title: 't' },
    }),
    { status: 403, code: 'authz.insufficient_scope' },
  )
  expect(
    'mass assignment ("ownerId": "bob")',
    await send(base, {
      method: 'POST',
      path: '/notes',
      headers: bearer(alice),
      json: { title: 'mine', body: '', ownerId: 'bob' },
    }),
    {
      status: 400,
      code: 'validation.rejected',
      check: (r) => r.text.includes('ownerId') || 'ownerId not named',
    },
  )
  expect(
    'prototype pollution ("__proto__")',
    await send(base, {
      method: 'POST',
      path: '/notes',
      headers: bearer(alice),
      body: '{"title":"x","body":"","__proto__":{"isAdmin":true}}',
    }),
    { status: 400 },
  )
  expect(
    'a user deletes a note (admin only)',
    await send(base, { method: 'DELETE', path: '/notes/note-alice-1', headers: bearer(alice) }),
    { status: 403, code: 'authz.forbidden' },
  )

  let lastFailure
  for (let i = 0; i < 5; i++) {
    lastFailure = await send(base, {
      method: 'POST',
      path: '/login',
      json: { username: 'alice', password: `guess-${i}` },
    })
    if (lastFailure.status !== 401) break
  }
  expect('brute force: 5 wrong passwords for alice', lastFailure, { status: 401, guard: 'the login handler' })
  expect(
    'brute force: then the right password',
    await send(base, {
      method: 'POST',
      path: '/login',
      json: { username: 'alice', password: 'alice-password-1' },
    }),
    {
      status: 429,
      code: 'ratelimit.too_many_failures',
      check: (r) => r.headers.has('retry-after') || 'no Retry-After',
    },
  )

  let passed = 0
  let burstEnd
  for (let i = 0; i < POINTS + 5; i++) {
    burstEnd = await send(base, { path: '/notes', headers: bearer(mallory) })
    if (burstEnd.status !== 200) break
    passed++
  }
  expect(`a burst of ${POINTS + 5} requests (${passed} answered 200)`, burstEnd, {
    status: 429,
    code: 'ratelimit.exceeded',
    check: (r) =>
      passed !== POINTS
        ? `${passed} requests passed, the budget is ${POINTS}`
        : r.headers.has('retry-after') || 'no Retry-After',
  })

  const preflight = (origin) => ({
    method: 'OPTIONS',
    path: '/notes',
    headers: {
      origin,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization',
    },
  })
  expect('CORS preflight from the app origin', await send(base, preflight(ALLOWED_ORIGIN)), {
    status: 204,
    guard: 'cors()',
    check: (r) =>
      r.headers.get('access-control-allow-origin') === ALLOWED_ORIGIN || 'no Access-Control-Allow-Origin',
  })
  expect('CORS preflight from a foreign origin', await send(base, preflight('https://evil.example')), {
    status: 204,
    guard: 'cors()',
    check: (r) => !r.headers.has('access-control-allow-origin') || 'a foreign origin was allowed',
  })
  expect(
    'a foreign origin reads with a valid token',
    await send(base, { path: '/notes', headers: { ...bearer(alice), origin: 'https://evil.example' } }),
    {
      status: 200,
      guard: 'cors()',
      check: (r) => !r.headers.has('access-control-allow-origin') || 'a foreign origin was allowed',
    },
  )
  expect(
    'the deprecated API version 1',
    await send(base, { path: '/notes', headers: { ...bearer(alice), 'api-version': '1' } }),
    {
      status: 200,
      guard: 'apiVersion()',
      check: (r) => (r.headers.has('deprecation') && r.headers.has('sunset')) || 'no Deprecation and Sunset',
    },
  )
  expect(
    'an unknown API version 7',
    await send(base, { path: '/notes', headers: { ...bearer(alice), 'api-version': '7' } }),
    { status: 400, code: 'request.unsupported_version' },
  )
} catch (error) {
  app.signal('SIGKILL')
  fail(`a request failed: ${error?.stack ?? error}\n${app.output()}`)
}

// ---- shutdown, the audit log and the table ------------------------------------------------------

app.signal('SIGTERM')
const timer = setTimeout(() => app.signal('SIGKILL'), 10_000)
const exit = await app.exited
clearTimeout(timer)

const rawLines = existsSync(auditFile) ? readFileSync(auditFile, 'utf8').split('\n').filter(Boolean) : []
const lines = rawLines.map((line) => {
  try {
    return JSON.parse(line)
  } catch {
    return {}
  }
})

const cells = rows.map(({ label, result, guard, problems }) => [
  label,
  `${result.method} ${result.path}`,
  String(result.status),
  guardFromAudit(lines, result) ?? guard ?? GUARD_OF_CODE[result.code] ?? '-',
  result.code ?? '-',
  problems.length === 0 ? 'ok' : `UNEXPECTED: ${problems.join('; ')}`,
])
const header = ['request', 'sent', 'status', 'answered by', 'code', 'verdict']
const widths = header.map((title, i) => Math.max(title.length, ...cells.map((row) => row[i].length)))
const line = (row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]))).join('  ')
console.log(`\n${bold(line(header))}`)
for (const row of cells) {
  const status = Number(row[2])
  const text = line(row)
  const verdict = row[5] === 'ok' ? text : red(text)
  console.log(
    row[5] !== 'ok' ? verdict : status < 300 ? green(text) : status < 500 ? yellow(text) : red(text),
  )
}

const failures = rows.filter((row) => row.problems.length > 0).length
let ok = failures === 0

console.log(`\n${bold('shutdown')}: SIGTERM -> exit ${exit.code ?? exit.signal}`)
if (exit.code !== 0) {
  ok = false
  console.log(red('the example did not exit 0 on SIGTERM'))
}

const verdict = rawLines.length === 0 ? undefined : verifyFiles([auditFile])
if (verdict === undefined) {
  ok = false
  console.log(red(`the audit log ${auditFile} is empty or missing`))
} else if (verdict.ok) {
  console.log(
    green(`audit log: hash chain verified, ${verdict.lines} lines in ${verdict.chains.length} chain(s)`),
  )
} else {
  ok = false
  console.log(red(`audit log: ${verdict.problem?.message}`))
}
console.log(`\n${bold('last audit events')}`)
for (const raw of rawLines.slice(-8)) console.log(dim(formatLine(raw)))

rmSync(workDir, { recursive: true, force: true })
if (!ok) {
  console.log(red(`\n${failures} unexpected answer(s): the reference API does not keep its contract`))
  if (exit.code !== 0) console.log(dim(app.output()))
} else {
  console.log(green(`\nevery answer is the expected one (${rows.length} requests checked)`))
}
process.exitCode = ok ? 0 : 1
