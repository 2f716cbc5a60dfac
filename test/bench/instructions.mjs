// `pnpm bench:instructions`: CPU instructions per request, counted by valgrind's callgrind, for
// the bare route, the framework's own no-op middleware and apiward's stacks. Unlike wall-clock
// throughput, instruction counts do not depend on what else the machine is doing, so they can
// resolve the few percent an adapter costs. See README.md.
//
//   node test/bench/instructions.mjs [filter...]    (filter `node`: the plain node:http reference)    BENCH_IR_WARMUP=10000 BENCH_IR_REQUESTS=3000
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { Agent, request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { fixtures } from './fixtures.mjs'
import { FRAMEWORKS, PATH, stackByName } from './stacks.mjs'

const STACK_NAMES = [
  'bare',
  'noop',
  'empty',
  'empty-noRequestId',
  'rateLimit-memory',
  'rateLimit-memory-noHeaders',
  'jwt-ES256-cache',
  'introspection-cache',
  'introspection-limit',
]
/** A plain node:http route with 0, 1 and 3 more response headers: what a header costs Node. */
const REFERENCE = { framework: 'node', stacks: ['bare', 'header-1', 'header-3'] }
const WARMUP = Number(process.env.BENCH_IR_WARMUP ?? 10000)
const REQUESTS = Number(process.env.BENCH_IR_REQUESTS ?? 3000)
const CONCURRENCY = 8
const FILTER = process.argv
  .slice(2)
  .flatMap((f) => f.split(','))
  .filter(Boolean)
const SERVE = fileURLToPath(new URL('./servers/serve.mjs', import.meta.url))
const OUT_DIR = fileURLToPath(new URL('../../.bench/', import.meta.url))

if (spawnSync('sh', ['-c', 'command -v valgrind && command -v callgrind_control']).status !== 0) {
  console.error('valgrind (with callgrind_control) is needed: apt-get install valgrind')
  process.exit(1)
}

/** Selected by the filter; the bare route runs with any selected stack of its framework. */
function wanted(framework, name) {
  const hit = (n) => FILTER.some((f) => `${framework}/${n}`.includes(f))
  return FILTER.length === 0 || hit(name) || (name === 'bare' && STACK_NAMES.some(hit))
}

/** Sends `n` requests over the agent's keep-alive connections, `CONCURRENCY` at a time. */
function load(agent, port, n, token) {
  const headers = token ? { authorization: `Bearer ${token}` } : {}
  let sent = 0
  const one = () =>
    new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: PATH, agent, headers }, (res) => {
        if (res.statusCode !== 200) reject(new Error(`answered ${res.statusCode}`))
        res.resume()
        res.on('end', resolve)
      })
      req.on('error', reject)
      req.end()
    })
  const worker = async () => {
    while (sent < n) {
      sent++
      await one()
    }
  }
  return Promise.all(Array.from({ length: CONCURRENCY }, worker))
}

function control(pid, ...args) {
  const r = spawnSync('callgrind_control', [...args, String(pid)], { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`callgrind_control ${args.join(' ')} failed: ${r.stderr}`)
}

/** Instructions in the callgrind dumps of a folder. */
function counted(folder) {
  let total = 0
  for (const file of readdirSync(folder)) {
    const text = readFileSync(join(folder, file), 'utf8')
    // `totals:` counts what was collected; `summary:` may be 0 when counting started late.
    const line = /^totals:\s+(\d+)/m.exec(text) ?? /^summary:\s+(\d+)/m.exec(text)
    if (line) total += Number(line[1])
  }
  return total
}

/** Instructions per request of one server, counted from after its warm-up. */
async function measure(framework, stack, fixture, dir) {
  const out = join(dir, `${framework}-${stack.name}`)
  mkdirSync(out)
  const child = spawn(
    'valgrind',
    [
      '--tool=callgrind',
      '--instr-atstart=no',
      `--callgrind-out-file=${join(out, 'callgrind.out.%p')}`,
      process.execPath,
      SERVE,
      framework,
      stack.name,
      fixture.config,
    ],
    { stdio: ['ignore', 'ignore', 'ignore', 'ipc'], env: { ...process.env, NODE_ENV: 'production' } },
  )
  try {
    const port = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('did not start within 240 s')), 240_000)
      child.once('exit', (code) => reject(new Error(`exited with code ${code}`)))
      child.once('message', (m) => {
        clearTimeout(timer)
        if (m.type === 'ready') resolve(m.port)
        else reject(new Error(m.message))
      })
    })
    const token = stack.token ? fixture.tokens[stack.token] : undefined
    // One set of connections for the warm-up and the count: opening and closing connections
    // runs code the requests do not, and V8 would still be compiling it while counting.
    const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY })
    try {
      await load(agent, port, WARMUP, token)
      control(child.pid, '--instr=on')
      await load(agent, port, REQUESTS, token)
      control(child.pid, '--instr=off')
    } finally {
      agent.destroy()
    }
  } finally {
    // SIGINT ends the server the ordinary way, so callgrind writes its counts as it exits.
    const exited = new Promise((r) => child.once('exit', r))
    child.kill('SIGINT')
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
    await exited
    clearTimeout(timer)
  }
  const total = counted(out)
  if (total === 0) throw new Error(`callgrind counted nothing in ${readdirSync(out).join(', ') || 'no file'}`)
  return total / REQUESTS
}

const dir = mkdtempSync(join(tmpdir(), 'apiward-ir-'))
const results = {}
try {
  const fixture = await fixtures(dir)
  const plan = FRAMEWORKS.map((framework) => ({
    framework,
    stacks: STACK_NAMES.filter((name) => wanted(framework, name)).map((name) => stackByName.get(name)),
  }))
  if (FILTER.length === 0 || FILTER.some((f) => f.startsWith('node'))) {
    plan.push({ framework: REFERENCE.framework, stacks: REFERENCE.stacks.map((name) => ({ name })) })
  }
  for (const { framework, stacks } of plan) {
    const rows = []
    for (const stack of stacks) {
      const name = stack.name
      const ir = await measure(framework, stack, fixture, dir)
      rows.push({ name, ir })
      console.log(
        `${framework}/${name}`.padEnd(28),
        `${Math.round(ir).toLocaleString('en')} instructions/request`,
      )
    }
    if (rows.length === 0) continue
    const bare = rows.find((r) => r.name === 'bare')?.ir
    results[framework] = Object.fromEntries(rows.map((r) => [r.name, { ir: r.ir, ratio: bare / r.ir }]))
  }
  console.log('\nratio = bare instructions / stack instructions: the share of a CPU-bound bare route kept')
  for (const [framework, stacks] of Object.entries(results)) {
    console.log(`\n${framework}`)
    for (const [name, s] of Object.entries(stacks)) {
      console.log(`${name.padEnd(18)} ${Math.round(s.ir).toString().padStart(9)}  ${s.ratio.toFixed(3)}`)
    }
  }
  if (!existsSync(OUT_DIR)) mkdirSync(OUT_DIR, { recursive: true })
  writeFileSync(
    join(OUT_DIR, 'instructions.json'),
    `${JSON.stringify({ date: new Date(), results }, null, 2)}\n`,
  )
} finally {
  if (!process.env.BENCH_IR_KEEP) rmSync(dir, { recursive: true, force: true })
}
