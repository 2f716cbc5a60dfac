// What both runners share: which configurations run, the server processes, the smoke check, and
// the header lists the limit servers copy from their stacks.
import { spawn, spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { createServer, Socket } from 'node:net'
import { fileURLToPath } from 'node:url'
import { FRAMEWORKS, routeOf, runsOn, STACKS, stackByName } from './stacks.mjs'

export const SERVE = fileURLToPath(new URL('./servers/serve.mjs', import.meta.url))

export function which(cmd) {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' })
  return r.status === 0 ? r.stdout.trim() : undefined
}

function parseCpuList(list) {
  return list.split(',').flatMap((part) => {
    const [a, b] = part.split('-').map(Number)
    return b === undefined ? [a] : Array.from({ length: b - a + 1 }, (_, i) => a + i)
  })
}

/** Two CPUs this process may use: the server gets one, the load generator (and Redis) the other. */
function pinning() {
  if (process.env.BENCH_NO_PIN) return undefined
  if (!which('taskset')) return undefined
  const r = spawnSync('taskset', ['-pc', String(process.pid)], { encoding: 'utf8' })
  if (r.status !== 0) return undefined
  const allowed = parseCpuList(r.stdout.split(':').pop().trim())
  return allowed.length >= 2 ? { server: allowed[0], load: allowed[1] } : undefined
}

export const PIN = pinning()
const REDIS_SERVER = which('redis-server')

export function pinned(cpu, command, args) {
  return PIN ? ['taskset', ['-c', String(cpu), command, ...args]] : [command, args]
}

/** The filter of a runner: `framework/stack` substrings from the arguments and BENCH_FILTER. */
export function filterFrom(args) {
  return [...args, ...(process.env.BENCH_FILTER ?? '').split(',')]
    .flatMap((f) => f.split(','))
    .map((f) => f.trim())
    .filter(Boolean)
}

/** What cannot run here, and why: a package that does not export what a stack needs, no Redis. */
export async function availability() {
  const missing = new Map()
  const adapterExports = {
    express: ['guard', 'errorHandler'],
    koa: ['guard', 'errorHandler'],
    fastify: ['guard', 'apiward'],
    hono: ['guard', 'errorHandler'],
  }
  for (const fw of FRAMEWORKS) {
    const mod = await import(`@apiward/${fw}`).catch(() => ({}))
    const absent = adapterExports[fw].filter((name) => typeof mod[name] !== 'function')
    if (absent.length > 0)
      missing.set(`adapter:${fw}`, `@apiward/${fw} does not export ${absent.join(', ')} (yet)`)
  }
  if (!REDIS_SERVER)
    missing.set('redis', 'redis-server is not installed (Debian: apt-get install redis-server)')
  return missing
}

/**
 * The configurations a filter selects, in registry order. The bare route of a selected framework
 * always runs (the denominator of every ratio), and so do the stack and the limit of a selected
 * limit, peer or stack with a budget: a row is never shown without what it is compared with.
 */
export function plan(filter, missing, names = STACKS.map((s) => s.name)) {
  const configs = []
  const skipped = []
  const hit = (fw, name) => filter.length === 0 || filter.some((f) => `${fw}/${name}`.includes(f))
  for (const fw of FRAMEWORKS) {
    const chosen = new Set()
    for (const name of names) {
      const stack = stackByName.get(name)
      if (name === 'bare' || !runsOn(stack, fw) || !hit(fw, name)) continue
      chosen.add(name)
      for (const related of [
        stack.limitOf,
        stack.limit && `limit-${name}`,
        stack.peerOf,
        stack.budget?.base,
      ]) {
        if (related && runsOn(stackByName.get(related), fw)) chosen.add(related)
      }
      const base = stackByName.get(stack.budget?.base ?? '')
      if (base?.limit) chosen.add(`limit-${base.name}`)
    }
    if (chosen.size === 0 && !hit(fw, 'bare')) continue
    configs.push({ framework: fw, stack: stackByName.get('bare') })
    for (const stack of STACKS.filter((s) => chosen.has(s.name))) {
      const reason = (stack.apiward && missing.get(`adapter:${fw}`)) || (stack.redis && missing.get('redis'))
      if (reason) skipped.push({ framework: fw, stack: stack.name, reason })
      else configs.push({ framework: fw, stack })
    }
  }
  return { configs, skipped }
}

// --- processes -----------------------------------------------------------------------------

export const children = new Set()
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

export function cleanup() {
  for (const child of children) child.kill('SIGKILL')
}
process.on('exit', cleanup)
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    cleanup()
    process.exit(130)
  })
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address()
      srv.close(() => resolve(port))
    })
  })
}

function redisUp(port) {
  return new Promise((resolve) => {
    const socket = new Socket()
    const done = (ok) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(300, () => done(false))
    socket.once('error', () => done(false))
    socket.once('data', (d) => done(d.toString().startsWith('+PONG')))
    socket.connect(port, '127.0.0.1', () => socket.write('PING\r\n'))
  })
}

export async function startRedis() {
  const port = await freePort()
  const [cmd, args] = pinned(PIN?.load, REDIS_SERVER, [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
  ])
  const child = spawn(cmd, args, { stdio: 'ignore' })
  children.add(child)
  child.once('exit', () => children.delete(child))
  const end = Date.now() + 10_000
  while (Date.now() < end) {
    if (await redisUp(port)) return { port, child }
    await sleep(25)
  }
  throw new Error(`redis-server on port ${port} did not start`)
}

/**
 * Starts one server process (`command` wraps it: taskset, valgrind) and waits for its port. The
 * returned `cpu()` asks for its CPU seconds, `stop(signal)` ends it.
 */
export async function startServer(
  framework,
  stack,
  config,
  { wrap = [], timeout = 20_000, stdio = 'inherit' } = {},
) {
  const [cmd, args] =
    wrap.length > 0
      ? [wrap[0], [...wrap.slice(1), process.execPath, SERVE, framework, stack, config]]
      : pinned(PIN?.server, process.execPath, [SERVE, framework, stack, config])
  const child = spawn(cmd, args, {
    stdio: ['ignore', stdio, stdio, 'ipc'],
    env: { ...process.env, NODE_ENV: 'production' },
  })
  children.add(child)
  child.once('exit', () => children.delete(child))
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`did not start within ${timeout / 1000} s`)), timeout)
    child.once('exit', (code) => reject(new Error(`exited with code ${code} before listening`)))
    child.once('message', (m) => {
      clearTimeout(timer)
      if (m.type === 'ready') resolve(m.port)
      else reject(new Error(m.message))
    })
  })
  const cpu = () =>
    new Promise((resolve) => {
      child.once('message', (m) => resolve((m.usage.user + m.usage.system) / 1e6))
      child.send('cpu')
    })
  const stop = async (signal = 'SIGKILL', grace = 60_000) => {
    if (child.exitCode !== null) return
    const exited = new Promise((r) => child.once('exit', r))
    child.kill(signal)
    const timer = setTimeout(() => child.kill('SIGKILL'), grace)
    await exited
    clearTimeout(timer)
  }
  return { port, cpu, stop, pid: child.pid }
}

// --- smoke check and the limits' header lists --------------------------------------------------

/** Headers every response carries whatever the stack: never part of a stack's or a limit's list. */
const TRANSPORT = new Set(['date', 'connection', 'keep-alive', 'content-length', 'transfer-encoding'])

/**
 * The smoke check: 200 with the expected body, 401 without the stack's token, and exactly the
 * response headers the stack promises beyond the bare route's. Returns those headers, in order.
 */
export async function smoke(port, stack, tokens, bareHeaders) {
  const { path, body } = routeOf(stack)
  const url = `http://127.0.0.1:${port}${path}`
  const headers = stack.token ? { authorization: `Bearer ${tokens[stack.token]}` } : {}
  const ok = await fetch(url, { headers })
  const text = await ok.text()
  if (ok.status !== 200) throw new Error(`answered ${ok.status} instead of 200: ${text.slice(0, 300)}`)
  if (text !== JSON.stringify(body)) throw new Error(`answered an unexpected body: ${text.slice(0, 300)}`)
  const extra = [...ok.headers].filter(([name]) => !TRANSPORT.has(name) && !bareHeaders?.has(name))
  const promised = stack.limitOf ? stackByName.get(stack.limitOf).headers : stack.headers
  if (bareHeaders && promised) {
    const names = extra.map(([name]) => name).sort()
    if (names.join() !== [...promised].sort().join()) {
      throw new Error(`sent the headers [${names}] where [${[...promised].sort()}] were promised`)
    }
  }
  if (stack.token) {
    const denied = await fetch(url)
    await denied.arrayBuffer()
    if (denied.status !== 401) throw new Error(`answered ${denied.status} instead of 401 without a token`)
  }
  return extra
}

/**
 * Runs every selected stack that has a limit once, and the bare route of each framework, to record
 * the headers each sends beyond the bare route's; writes them into the config file the limit
 * servers read (`limitHeaders['<framework>/<stack>']`), so a limit cannot drift from its stack.
 * Returns the configurations whose stack failed its smoke check, with the reason.
 */
export async function recordLimitHeaders(configs, fixture) {
  const config = JSON.parse(readFileSync(fixture.config, 'utf8'))
  config.limitHeaders = {}
  const failed = new Map()
  const bare = new Map()
  for (const { framework, stack } of configs) {
    const needed =
      stack.name === 'bare' ||
      configs.some((c) => c.framework === framework && c.stack.limitOf === stack.name)
    if (!needed) continue
    const key = `${framework}/${stack.name}`
    let server
    try {
      server = await startServer(framework, stack.name, fixture.config)
      const headers = await smoke(server.port, stack, fixture.tokens, bare.get(framework))
      if (stack.name === 'bare') bare.set(framework, new Set(headers.map(([name]) => name)))
      else config.limitHeaders[key] = headers
    } catch (err) {
      failed.set(key, err.message)
      failed.set(`${framework}/limit-${stack.name}`, `its stack failed: ${err.message}`)
    } finally {
      await server?.stop()
    }
  }
  writeFileSync(fixture.config, JSON.stringify(config))
  return { failed, bare }
}
