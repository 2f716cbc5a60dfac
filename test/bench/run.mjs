// `pnpm bench`: every stack on every framework as a ratio to the bare route. See README.md.
//
//   node test/bench/run.mjs [filter...]     e.g. `express`, `jwt`, `koa/popular`, `fastify,redis`
//   BENCH_SECONDS=4 BENCH_ROUNDS=3 BENCH_WARMUP=1 BENCH_CONNECTIONS=32 BENCH_FILTER=...
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, Socket } from 'node:net'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { fixtures } from './fixtures.mjs'
import { BODY, FRAMEWORKS, PATH, STACKS } from './stacks.mjs'

const SECONDS = positive('BENCH_SECONDS', 4)
const ROUNDS = positive('BENCH_ROUNDS', 3)
const WARMUP = positive('BENCH_WARMUP', 1)
const CONNECTIONS = positive('BENCH_CONNECTIONS', 32)
const MAX_FAILED_SHARE = 0.01
const MIN_BUSY = 0.9
const FILTER = [...process.argv.slice(2), ...(process.env.BENCH_FILTER ?? '').split(',')]
  .flatMap((f) => f.split(','))
  .map((f) => f.trim())
  .filter(Boolean)

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const SERVE = fileURLToPath(new URL('./servers/serve.mjs', import.meta.url))
const OUT_DIR = join(ROOT, '.bench')

function positive(name, fallback) {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const n = Number(raw)
  if (!(n > 0)) throw new TypeError(`${name} must be a positive number, got ${JSON.stringify(raw)}`)
  return n
}

// --- environment ---------------------------------------------------------------------------

function which(cmd) {
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

const WRK = which('wrk')
if (!WRK) {
  console.error(
    'wrk is not installed (Debian: apt-get install wrk); the bench needs it as its load generator',
  )
  process.exit(1)
}
const PIN = pinning()
const REDIS_SERVER = which('redis-server')

function pinned(cpu, command, args) {
  return PIN ? ['taskset', ['-c', String(cpu), command, ...args]] : [command, args]
}

// --- what runs -----------------------------------------------------------------------------

async function availability() {
  const missing = new Map()
  const adapterExports = {
    express: ['guard', 'errorHandler'],
    koa: ['guard', 'errorHandler'],
    fastify: ['guard', 'apiward'],
  }
  for (const fw of FRAMEWORKS) {
    const mod = await import(`@apiward/${fw}`).catch(() => ({}))
    const absent = adapterExports[fw].filter((name) => typeof mod[name] !== 'function')
    if (absent.length > 0)
      missing.set(`adapter:${fw}`, `@apiward/${fw} does not export ${absent.join(', ')} (yet)`)
  }
  const auth = await import('@apiward/auth').catch(() => ({}))
  if (typeof auth.jwt !== 'function') missing.set('jwt', '@apiward/auth does not export jwt (yet)')
  if (typeof auth.introspection !== 'function')
    missing.set('introspection', '@apiward/auth does not export introspection (yet)')
  if (!REDIS_SERVER)
    missing.set('redis', 'redis-server is not installed (Debian: apt-get install redis-server)')
  return missing
}

function selected(fw, stack) {
  if (FILTER.length === 0) return true
  return FILTER.some((f) => `${fw}/${stack}`.includes(f))
}

function plan(missing) {
  const configs = []
  const skipped = []
  for (const fw of FRAMEWORKS) {
    const chosen = STACKS.filter((s) => s.name !== 'bare' && selected(fw, s.name))
    if (chosen.length === 0 && !selected(fw, 'bare')) continue
    // the bare route is the denominator of every ratio, so it always runs with its framework
    configs.push({ framework: fw, stack: STACKS[0] })
    for (const stack of chosen) {
      const reason =
        (stack.apiward && missing.get(`adapter:${fw}`)) ||
        (stack.jwt && missing.get('jwt')) ||
        (stack.introspection && missing.get('introspection')) ||
        (stack.redis && missing.get('redis'))
      if (reason) skipped.push({ framework: fw, stack: stack.name, reason })
      else configs.push({ framework: fw, stack })
    }
  }
  return { configs, skipped }
}

// --- fixtures: keys, tokens, casbin files ------------------------------------------------------

// --- processes -----------------------------------------------------------------------------

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

async function startRedis() {
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

const children = new Set()
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

function cleanup() {
  for (const child of children) child.kill('SIGKILL')
}
process.on('exit', cleanup)
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    cleanup()
    process.exit(130)
  })
}

async function startServer(framework, stack, config) {
  const [cmd, args] = pinned(PIN?.server, process.execPath, [SERVE, framework, stack, config])
  const child = spawn(cmd, args, {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, NODE_ENV: 'production' },
  })
  children.add(child)
  child.once('exit', () => children.delete(child))
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('did not start within 20 s')), 20_000)
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
  const stop = async () => {
    if (child.exitCode !== null) return
    const exited = new Promise((r) => child.once('exit', r))
    child.kill('SIGKILL')
    await exited
  }
  return { port, cpu, stop }
}

async function wrk(port, seconds, token) {
  const headers = token ? ['-H', `Authorization: Bearer ${token}`] : []
  const [cmd, args] = pinned(PIN?.load, WRK, [
    '-t1',
    `-c${CONNECTIONS}`,
    `-d${seconds}s`,
    '--timeout',
    '5s',
    ...headers,
    `http://127.0.0.1:${port}${PATH}`,
  ])
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.on('data', (d) => {
    out += d
  })
  const code = await new Promise((r) => child.once('exit', r))
  if (code !== 0) throw new Error(`wrk exited with code ${code}:\n${out}`)
  const requests = Number(/(\d+) requests in/.exec(out)?.[1])
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1])
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0)
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out)
  const errors = socket ? socket.slice(1).reduce((a, b) => a + Number(b), 0) : 0
  if (!Number.isFinite(requests) || !Number.isFinite(rps)) throw new Error(`cannot read wrk output:\n${out}`)
  return { requests, rps, non2xx, errors }
}

// --- smoke check ---------------------------------------------------------------------------

async function smoke(port, stack, tokens) {
  const url = `http://127.0.0.1:${port}${PATH}`
  const headers = stack.token ? { authorization: `Bearer ${tokens[stack.token]}` } : {}
  const ok = await fetch(url, { headers })
  const text = await ok.text()
  if (ok.status !== 200) throw new Error(`answered ${ok.status} instead of 200: ${text.slice(0, 300)}`)
  if (text !== JSON.stringify(BODY)) throw new Error(`answered an unexpected body: ${text.slice(0, 300)}`)
  // The stack measures what it says: the response headers its options promise, and no others.
  if (stack.apiward) {
    const echoes = stack.adapterOptions?.requestIdHeader !== false
    if (ok.headers.has('x-request-id') !== echoes) {
      throw new Error(`X-Request-Id ${echoes ? 'missing' : 'sent although requestIdHeader is false'}`)
    }
    const limits = stack.name.startsWith('rateLimit') && !stack.name.endsWith('noHeaders')
    if (ok.headers.has('ratelimit') !== limits) {
      throw new Error(`RateLimit header ${limits ? 'missing' : 'sent although not asked for'}`)
    }
  }
  if (stack.token) {
    const denied = await fetch(url)
    await denied.arrayBuffer()
    if (denied.status !== 401) throw new Error(`answered ${denied.status} instead of 401 without a token`)
  }
}

// --- measuring -----------------------------------------------------------------------------

async function measure({ framework, stack }, fixture) {
  const server = await startServer(framework, stack.name, fixture.config)
  try {
    await smoke(server.port, stack, fixture.tokens)
    const token = stack.token ? fixture.tokens[stack.token] : undefined
    await wrk(server.port, WARMUP, token)
    const before = await server.cpu()
    const run = await wrk(server.port, SECONDS, token)
    const cpuSeconds = (await server.cpu()) - before
    // A few refusals under load are the stack working (a fail-closed store answering 503 when
    // Redis was starved of CPU for 100 ms); more than 1% would make the numbers meaningless.
    const refused = run.non2xx + run.errors > run.requests * MAX_FAILED_SHARE
    return {
      refused: refused
        ? `${run.non2xx} non-2xx answers and ${run.errors} socket errors in ${run.requests} requests`
        : undefined,
      rps: run.rps,
      requests: run.requests,
      non2xx: run.non2xx,
      socketErrors: run.errors,
      cpuSeconds,
      cpuShare: cpuSeconds / SECONDS,
      reqPerCpuSecond: run.requests / cpuSeconds,
    }
  } finally {
    await server.stop()
  }
}

function median(values) {
  const s = [...values].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2
}

/** Half the range of the runs, as a share of their median: how far one run may stray. */
function spread(values) {
  if (values.length < 2) return null
  return (Math.max(...values) - Math.min(...values)) / 2 / median(values)
}

function summarise(configs, runs, failed) {
  const frameworks = {}
  for (const { framework, stack } of configs) {
    const key = `${framework}/${stack.name}`
    if (failed.has(key)) continue
    const list = runs.get(key) ?? []
    frameworks[framework] ??= { stacks: {} }
    frameworks[framework].stacks[stack.name] = {
      about: stack.about,
      runs: list,
      rps: median(list.map((r) => r.rps)),
      reqPerCpuSecond: median(list.map((r) => r.reqPerCpuSecond)),
      spread: spread(list.map((r) => r.reqPerCpuSecond)),
    }
  }
  for (const fw of Object.values(frameworks)) {
    const bare = fw.stacks.bare
    for (const s of Object.values(fw.stacks)) {
      s.rpsRatio = bare ? s.rps / bare.rps : null
      s.cpuRatio = bare ? s.reqPerCpuSecond / bare.reqPerCpuSecond : null
    }
  }
  return frameworks
}

function printTable(framework, version, stacks) {
  const rows = [['stack', 'req/s', 'ratio', 'req/CPU-s', 'ratio', 'spread']]
  for (const [name, s] of Object.entries(stacks)) {
    rows.push([
      name,
      Math.round(s.rps).toString(),
      s.rpsRatio?.toFixed(2) ?? '-',
      Math.round(s.reqPerCpuSecond).toString(),
      s.cpuRatio?.toFixed(2) ?? '-',
      s.spread === null ? '-' : `±${Math.round(s.spread * 100)}%`,
    ])
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)))
  console.log(`\n${framework} ${version}`)
  for (const row of rows) {
    console.log(
      row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  '),
    )
  }
}

// --- main ----------------------------------------------------------------------------------

const missing = await availability()
const { configs, skipped } = plan(missing)
if (configs.length === 0) {
  console.error(`no stack matches the filter ${JSON.stringify(FILTER)}`)
  process.exit(1)
}

const dir = mkdtempSync(join(tmpdir(), 'apiward-bench-'))
let redis
try {
  if (configs.some((c) => c.stack.redis)) redis = await startRedis()
  const fixture = await fixtures(dir, redis?.port)

  const perRun = WARMUP + SECONDS + 1
  console.log(
    `${configs.length} configurations x ${ROUNDS} rounds, ${SECONDS} s each after ${WARMUP} s warm-up (about ${Math.ceil((configs.length * ROUNDS * perRun) / 60)} min); ` +
      `wrk -t1 -c${CONNECTIONS}; ${PIN ? `server on CPU ${PIN.server}, wrk and redis on CPU ${PIN.load}` : 'no CPU pinning (taskset or a second CPU missing)'}`,
  )
  for (const s of skipped) console.log(`skip ${s.framework}/${s.stack}: ${s.reason}`)
  const loadBefore = loadavg()[0]
  if (loadBefore > 1) {
    console.log(
      `note: load average ${loadBefore.toFixed(1)}: other work competes for the CPUs, req/s will suffer`,
    )
  }

  const runs = new Map()
  const failed = new Map()
  const refusedRuns = []
  for (let round = 1; round <= ROUNDS; round++) {
    // Each round starts at another configuration, so no stack always runs in the same slot
    // (right after a given other one, early or late in the run).
    const shift = ((round - 1) * Math.ceil(configs.length / ROUNDS)) % configs.length
    for (const c of [...configs.slice(shift), ...configs.slice(0, shift)]) {
      const key = `${c.framework}/${c.stack.name}`
      if (failed.has(key)) continue
      try {
        let r = await measure(c, fixture)
        if (r.cpuShare < MIN_BUSY || r.refused) {
          // The server was not saturated: other work took the CPU from it or from wrk, which
          // inflates the cost per request too. One more try; the busier of the two counts.
          const again = await measure(c, fixture)
          console.log(
            `round ${round}/${ROUNDS} ${key.padEnd(26)} disturbed (server busy ${Math.round(r.cpuShare * 100)}%${r.refused ? `, ${r.refused}` : ''}), measured again`,
          )
          r = { ...(again.cpuShare > r.cpuShare || r.refused ? again : r), retried: true }
        }
        if (r.refused) {
          // the stack answered its smoke check, so this round is dropped, not the stack
          refusedRuns.push({ key, round, reason: r.refused })
          console.log(`round ${round}/${ROUNDS} ${key.padEnd(26)} dropped: ${r.refused}`)
          continue
        }
        delete r.refused
        if (!runs.has(key)) runs.set(key, [])
        runs.get(key).push(r)
        console.log(
          `round ${round}/${ROUNDS} ${key.padEnd(26)} ${Math.round(r.rps).toString().padStart(7)} req/s ${Math.round(r.reqPerCpuSecond).toString().padStart(7)} req/CPU-s  server busy ${Math.round(r.cpuShare * 100)}%${r.non2xx ? `  ${r.non2xx} non-2xx` : ''}`,
        )
      } catch (err) {
        failed.set(key, err.message)
        console.log(`round ${round}/${ROUNDS} ${key.padEnd(26)} FAILED: ${err.message}`)
      }
    }
  }

  for (const c of configs) {
    const key = `${c.framework}/${c.stack.name}`
    if (!failed.has(key) && !runs.has(key)) failed.set(key, 'every run was dropped')
  }
  const frameworks = summarise(configs, runs, failed)
  const versions = {}
  for (const fw of Object.keys(frameworks)) {
    versions[fw] = (await import(`./servers/${fw}.mjs`)).version
    printTable(fw, versions[fw], frameworks[fw].stacks)
    frameworks[fw].version = versions[fw]
  }
  for (const s of skipped) console.log(`skipped ${s.framework}/${s.stack}: ${s.reason}`)
  for (const r of refusedRuns) console.log(`dropped ${r.key} round ${r.round}: ${r.reason}`)
  for (const [key, reason] of failed) console.log(`FAILED ${key}: ${reason}`)

  const results = {
    date: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      model: cpus()[0]?.model,
      node: process.version,
      pinning: PIN ?? null,
      loadAverage: { before: loadBefore, after: loadavg()[0] },
    },
    settings: { seconds: SECONDS, rounds: ROUNDS, warmup: WARMUP, connections: CONNECTIONS, filter: FILTER },
    frameworks,
    skipped,
    dropped: refusedRuns,
    failed: [...failed].map(([key, reason]) => ({ key, reason })),
  }
  if (!existsSync(OUT_DIR)) mkdirSync(OUT_DIR, { recursive: true })
  writeFileSync(join(OUT_DIR, 'results.json'), `${JSON.stringify(results, null, 2)}\n`)
  console.log(`\nresults: ${join(OUT_DIR, 'results.json')}`)
  if (failed.size > 0) process.exitCode = 1
} finally {
  rmSync(dir, { recursive: true, force: true })
  cleanup()
}
