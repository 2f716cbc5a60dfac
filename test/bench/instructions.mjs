// `pnpm bench:instructions`: CPU instructions per request, counted by valgrind's callgrind, for
// the bare route, the framework's own no-op middleware and apiward's stacks. Unlike wall-clock
// throughput, instruction counts do not depend on what else the machine is doing, so they can
// resolve the few percent an adapter costs. The count is the server's main thread; see README.md.
//
//   node test/bench/instructions.mjs [filter...]    (filter `node`: the plain node:http reference)
//   BENCH_IR_WARMUP=10000 BENCH_IR_REQUESTS=3000 BENCH_IR_RUNS=3 BENCH_IR_STRICT=1 (exit 1 over a budget)
//   BENCH_IR_RETRIES=3 (runs counted again when nextTick took V8's slow literal path)
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { Agent, request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { fixtures } from './fixtures.mjs'
import { availability, cleanup, filterFrom, plan, recordLimitHeaders, startServer } from './harness.mjs'
import { routeOf, STACKS, stackByName } from './stacks.mjs'

/**
 * The stacks counted when no filter is given: every registered stack but Redis (its round trip is
 * not the server's instructions), the popular stacks (`popular`, `popular-reference-*`) and those
 * that check a signature per request (under valgrind each check takes milliseconds: select them
 * with a filter, e.g. `nocache` or `reference`).
 */
const DEFAULT_STACKS = STACKS.filter(
  (s) =>
    !s.redis &&
    !s.name.startsWith('popular') &&
    !s.name.includes('nocache') &&
    !/nocache/.test(s.peerOf ?? '') &&
    !/nocache/.test(s.limitOf ?? '') &&
    !/RS256/.test(s.name),
).map((s) => s.name)
/** A plain node:http route with 0, 1 and 3 more response headers: what a header costs Node. */
const REFERENCE = { framework: 'node', stacks: ['bare', 'header-1', 'header-3'] }
const WARMUP = Number(process.env.BENCH_IR_WARMUP ?? 10000)
const REQUESTS = Number(process.env.BENCH_IR_REQUESTS ?? 3000)
const RUNS = Number(process.env.BENCH_IR_RUNS ?? 3)
const CONCURRENCY = 8
const FILTER = filterFrom(process.argv.slice(2))
/** Budgets are gated on these; Express is reported only (its counts vary by 5% between runs). */
const GATED = new Set(['koa', 'fastify', 'hono'])
const OUT_DIR = fileURLToPath(new URL('../../.bench/', import.meta.url))

if (spawnSync('sh', ['-c', 'command -v valgrind && command -v callgrind_control']).status !== 0) {
  console.error('valgrind (with callgrind_control) is needed: apt-get install valgrind')
  process.exit(1)
}

/** Sends `n` requests over the agent's keep-alive connections, `CONCURRENCY` at a time. */
function load(agent, port, n, token, path) {
  const headers = token ? { authorization: `Bearer ${token}` } : {}
  let sent = 0
  const one = () =>
    new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path, agent, headers }, (res) => {
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

/**
 * Instructions in the callgrind dumps of a folder: the main thread's (`main`, the count) and every
 * thread's (`all`). Each thread has its own dump (`--separate-threads=yes`); the main thread,
 * thread 1, runs the requests (JavaScript, the HTTP parser, synchronous file writes and hashing),
 * while the others are V8's background compiler and garbage-collection helpers and libuv's pool.
 */
function counted(folder) {
  let main = 0
  let all = 0
  let mainFile
  for (const file of readdirSync(folder)) {
    const text = readFileSync(join(folder, file), 'utf8')
    // `totals:` counts what was collected; `summary:` may be 0 when counting started late.
    const line = /^totals:\s+(\d+)/m.exec(text) ?? /^summary:\s+(\d+)/m.exec(text)
    if (!line) continue
    all += Number(line[1])
    if (/^thread: 1$/m.test(text)) {
      main += Number(line[1])
      mainFile = join(folder, file)
    }
  }
  return { main, all, mainFile }
}

/** Instructions per request of one server, counted from after its warm-up. */
async function measure(framework, stack, fixture, dir, run) {
  const out = join(dir, `${framework}-${stack.name}-${run}`)
  mkdirSync(out)
  const wrap = [
    'valgrind',
    '--tool=callgrind',
    '--instr-atstart=no',
    '--separate-threads=yes',
    `--callgrind-out-file=${join(out, 'callgrind.out.%p')}`,
  ]
  const server = await startServer(framework, stack.name, fixture.config, {
    wrap,
    timeout: 240_000,
    stdio: 'ignore',
  })
  try {
    const token = stack.token ? fixture.tokens[stack.token] : undefined
    // One set of connections for the warm-up and the count: opening and closing connections
    // runs code the requests do not, and V8 would still be compiling it while counting.
    const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY })
    try {
      const { path } = routeOf(stack)
      await load(agent, server.port, WARMUP, token, path)
      control(server.pid, '--instr=on')
      await load(agent, server.port, REQUESTS, token, path)
      control(server.pid, '--instr=off')
    } finally {
      agent.destroy()
    }
  } finally {
    // SIGINT ends the server the ordinary way, so callgrind writes its counts as it exits.
    await server.stop('SIGINT')
  }
  const { main, all, mainFile } = counted(out)
  if (main === 0) throw new Error(`callgrind counted nothing in ${readdirSync(out).join(', ') || 'no file'}`)
  return { ir: main / REQUESTS, allThreads: all / REQUESTS, slowLiteral: slowLiteralOf(mainFile) / REQUESTS }
}

/**
 * Instructions the main thread spent in V8's runtime path for an object literal with computed
 * keys. Node's `process.nextTick()` builds one per call (`{ [async_id_symbol]: ..., callback,
 * args }`); in some processes, at random, that literal stops being built by its inline cache and
 * every call goes through the runtime: about 34k instructions a request more on any server, a
 * limit as well as a stack. Such a run is counted again (README.md, "Instruction counts").
 */
function slowLiteralOf(file) {
  if (file === undefined) return 0
  const r = spawnSync('callgrind_annotate', ['--inclusive=yes', '--threshold=100', file], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  })
  const line = /^\s*([\d,]+) .*Runtime_DefineKeyedOwnPropertyInLiteral/m.exec(r.stdout ?? '')
  return line ? Number(line[1].replaceAll(',', '')) : 0
}

/** A run whose count holds more than this many instructions a request of the slow literal path. */
const SLOW_LITERAL = 2000
/** How many times one configuration is counted again when its run took the slow literal path. */
const RETRIES = Number(process.env.BENCH_IR_RETRIES ?? 3)

function median(values) {
  const s = [...values].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2
}

const k = (ir) => (ir / 1000).toFixed(1)

/** What a stack adds beyond its limit, net of its base's own addition: the number a budget caps. */
function budgetOf(rows, stack) {
  const ir = (name) => rows[name]?.ir
  const added = (name) =>
    ir(name) === undefined || ir(`limit-${name}`) === undefined ? undefined : ir(name) - ir(`limit-${name}`)
  const own = added(stack.name)
  if (own === undefined) return undefined
  if (!stack.budget.base) return own
  const base = added(stack.budget.base)
  return base === undefined ? undefined : own - base
}

const dir = mkdtempSync(join(tmpdir(), 'apiward-ir-'))
const results = {}
const budgets = []
try {
  const fixture = await fixtures(dir)
  const { configs, skipped } = plan(
    FILTER,
    await availability(),
    FILTER.length === 0 ? DEFAULT_STACKS : undefined,
  )
  for (const s of skipped) console.log(`skip ${s.framework}/${s.stack}: ${s.reason}`)
  const recorded = await recordLimitHeaders(configs, fixture)
  for (const [key, reason] of recorded.failed) console.log(`FAILED ${key}: ${reason}`)
  const byFramework = new Map()
  for (const c of configs) byFramework.set(c.framework, [...(byFramework.get(c.framework) ?? []), c])
  if (FILTER.length === 0 || FILTER.some((f) => f.startsWith('node'))) {
    byFramework.set(
      REFERENCE.framework,
      REFERENCE.stacks.map((name) => ({ framework: REFERENCE.framework, stack: { name } })),
    )
  }
  console.log(
    `${[...byFramework.values()].flat().length} configurations x ${RUNS} runs, ${WARMUP} warm-up and ${REQUESTS} counted requests each`,
  )
  for (const [framework, list] of byFramework) {
    const rows = {}
    for (const { stack } of list) {
      if (recorded.failed.has(`${framework}/${stack.name}`)) continue
      const counts = []
      const slow = []
      let attempt = 0
      while (counts.length < RUNS) {
        const count = await measure(framework, stack, fixture, dir, ++attempt)
        if (count.slowLiteral > SLOW_LITERAL && slow.length < RETRIES) slow.push(count)
        else counts.push(count)
      }
      const runs = counts.map((c) => c.ir)
      rows[stack.name] = {
        ir: median(runs),
        runs,
        allThreads: median(counts.map((c) => c.allThreads)),
        slowLiteralRuns: slow.map((c) => c.ir),
      }
      console.log(
        `${framework}/${stack.name}`.padEnd(36),
        `${Math.round(median(runs)).toLocaleString('en').padStart(9)} instructions/request  (${runs.map(k).join(', ')} k; all threads ${k(rows[stack.name].allThreads)} k)`,
      )
      for (const c of slow)
        console.log(
          `${''.padEnd(36)} counted again: a run took V8's slow path for nextTick's literal (${k(c.ir)} k, ${k(c.slowLiteral)} k of it there)`,
        )
      const kept = counts.filter((c) => c.slowLiteral > SLOW_LITERAL)
      if (kept.length > 0)
        console.log(`${''.padEnd(36)} ${kept.length} of the counted runs still took that path: see README.md`)
    }
    const bare = rows.bare?.ir
    for (const [name, row] of Object.entries(rows)) {
      row.ratio = bare / row.ir
      const peers = Object.keys(rows).filter((peer) => stackByName.get(peer)?.peerOf === name)
      if (peers.length > 0) row.peers = Object.fromEntries(peers.map((peer) => [peer, rows[peer].ir]))
      const limit = rows[`limit-${name}`]
      if (limit) {
        row.limit = limit.ir
        row.beyondLimit = row.ir - limit.ir
      }
      const stack = stackByName.get(name)
      if (stack?.budget) {
        const net = budgetOf(rows, stack)
        if (net !== undefined) {
          const entry = {
            framework,
            stack: name,
            label: stack.budget.label,
            net,
            budget: stack.budget.instructions,
            gated: GATED.has(framework),
          }
          entry.met = net <= entry.budget
          row.budget = entry
          budgets.push(entry)
        }
      }
    }
    results[framework] = rows
  }
  console.log(
    '\ninstructions per request in thousands; /bare = bare / stack, /limit = limit / stack, /peer = peer / stack',
  )
  for (const [framework, rows] of Object.entries(results)) {
    console.log(`\n${framework}`)
    console.log(
      `${'stack'.padEnd(30)} ${'instr'.padStart(7)} ${'/bare'.padStart(6)} ${'limit'.padStart(7)} ${'/limit'.padStart(6)} ${'beyond'.padStart(7)} ${'/peer'.padStart(6)}`,
    )
    for (const [name, row] of Object.entries(rows)) {
      if (name.startsWith('limit-')) continue
      const peers = Object.values(row.peers ?? {})
      console.log(
        `${name.padEnd(30)} ${k(row.ir).padStart(7)} ${row.ratio.toFixed(3).padStart(6)} ${(row.limit ? k(row.limit) : '-').padStart(7)} ${(row.limit ? (row.limit / row.ir).toFixed(3) : '-').padStart(6)} ${(row.limit ? k(row.beyondLimit) : '-').padStart(7)} ${(peers.length > 0 ? peers.map((p) => (p / row.ir).toFixed(3)).join('/') : '-').padStart(6)}`,
      )
    }
  }
  // The stacks compared with a limit, the bare route and a peer at once (the reference API's full
  // stack): what each costs as a multiple of the others, in instructions.
  const compared = []
  for (const [framework, rows] of Object.entries(results)) {
    for (const [name, row] of Object.entries(rows)) {
      if (row.limit === undefined || row.peers === undefined || rows.bare === undefined) continue
      for (const [peer, ir] of Object.entries(row.peers)) {
        compared.push({ framework, name, row, peer, ir, bare: rows.bare.ir })
      }
    }
  }
  if (compared.length > 0) {
    console.log('\nstack against its limit, the bare route and its peer: instructions per request, stack / x')
    console.log(
      `${'stack'.padEnd(28)} ${'stack'.padStart(7)} ${'limit'.padStart(7)} ${'s-limit'.padStart(7)} ${'s/limit'.padStart(7)} ${'s/bare'.padStart(6)} ${'peer'.padStart(7)} ${'s/peer'.padStart(6)}  peer`,
    )
    for (const c of compared) {
      console.log(
        `${`${c.framework}/${c.name}`.padEnd(28)} ${k(c.row.ir).padStart(7)} ${k(c.row.limit).padStart(7)} ${k(c.row.beyondLimit).padStart(7)} ${(c.row.ir / c.row.limit).toFixed(3).padStart(7)} ${(c.row.ir / c.bare).toFixed(3).padStart(6)} ${k(c.ir).padStart(7)} ${(c.row.ir / c.ir).toFixed(3).padStart(6)}  ${c.peer}`,
      )
    }
  }
  if (budgets.length > 0)
    console.log('\nbudgets: instructions per request apiward adds beyond the limit (net of its base)')
  for (const b of budgets) {
    const verdict = b.gated ? (b.met ? 'met' : 'OVER') : 'reported'
    console.log(
      `${`${b.framework}/${b.stack}`.padEnd(28)} ${k(b.net).padStart(6)}k of ${k(b.budget)}k  ${verdict}  (${b.label})`,
    )
  }
  if (!existsSync(OUT_DIR)) mkdirSync(OUT_DIR, { recursive: true })
  writeFileSync(
    join(OUT_DIR, 'instructions.json'),
    `${JSON.stringify({ date: new Date(), runs: RUNS, results, budgets }, null, 2)}\n`,
  )
  if (process.env.BENCH_IR_STRICT && budgets.some((b) => b.gated && !b.met)) process.exitCode = 1
} finally {
  if (!process.env.BENCH_IR_KEEP) rmSync(dir, { recursive: true, force: true })
  cleanup()
}
