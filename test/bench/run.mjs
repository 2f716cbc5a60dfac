// `pnpm bench`: every stack on every framework as a ratio to the bare route and to its limit. See
// README.md.
//
//   node test/bench/run.mjs [filter...]     e.g. `express`, `jwt`, `koa/popular`, `fastify,redis`
//   BENCH_SECONDS=4 BENCH_ROUNDS=3 BENCH_WARMUP=1 BENCH_CONNECTIONS=32 BENCH_FILTER=...
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { fixtures } from './fixtures.mjs'
import {
  availability,
  cleanup,
  filterFrom,
  PIN,
  pinned,
  plan,
  recordLimitHeaders,
  smoke,
  startRedis,
  startServer,
  which,
} from './harness.mjs'
import { routeOf, stackByName } from './stacks.mjs'

const SECONDS = positive('BENCH_SECONDS', 4)
const ROUNDS = positive('BENCH_ROUNDS', 3)
const WARMUP = positive('BENCH_WARMUP', 1)
const CONNECTIONS = positive('BENCH_CONNECTIONS', 32)
const MAX_FAILED_SHARE = 0.01
const MIN_BUSY = 0.9
const FILTER = filterFrom(process.argv.slice(2))

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const OUT_DIR = join(ROOT, '.bench')

function positive(name, fallback) {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const n = Number(raw)
  if (!(n > 0)) throw new TypeError(`${name} must be a positive number, got ${JSON.stringify(raw)}`)
  return n
}

const WRK = which('wrk')
if (!WRK) {
  console.error(
    'wrk is not installed (Debian: apt-get install wrk); the bench needs it as its load generator',
  )
  process.exit(1)
}

async function wrk(port, seconds, token, path) {
  const headers = token ? ['-H', `Authorization: Bearer ${token}`] : []
  const [cmd, args] = pinned(PIN?.load, WRK, [
    '-t1',
    `-c${CONNECTIONS}`,
    `-d${seconds}s`,
    '--timeout',
    '5s',
    ...headers,
    `http://127.0.0.1:${port}${path}`,
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

// --- measuring -----------------------------------------------------------------------------

async function measure({ framework, stack }, fixture, bare) {
  const server = await startServer(framework, stack.name, fixture.config)
  try {
    await smoke(server.port, stack, fixture.tokens, stack.name === 'bare' ? undefined : bare.get(framework))
    const token = stack.token ? fixture.tokens[stack.token] : undefined
    const { path } = routeOf(stack)
    await wrk(server.port, WARMUP, token, path)
    const before = await server.cpu()
    const run = await wrk(server.port, SECONDS, token, path)
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
    for (const [name, s] of Object.entries(fw.stacks)) {
      s.rpsRatio = bare ? s.rps / bare.rps : null
      s.cpuRatio = bare ? s.reqPerCpuSecond / bare.reqPerCpuSecond : null
      const limit = fw.stacks[`limit-${name}`]
      s.limitRatio = limit ? s.reqPerCpuSecond / limit.reqPerCpuSecond : null
      const peers = Object.keys(fw.stacks).filter((peer) => stackByName.get(peer)?.peerOf === name)
      s.peerRatios =
        peers.length > 0
          ? Object.fromEntries(
              peers.map((peer) => [peer, s.reqPerCpuSecond / fw.stacks[peer].reqPerCpuSecond]),
            )
          : null
    }
  }
  return frameworks
}

function printTable(framework, version, stacks) {
  const rows = [['stack', 'req/s', 'ratio', 'req/CPU-s', '/bare', '/limit', '/peer', 'spread']]
  for (const [name, s] of Object.entries(stacks)) {
    rows.push([
      name,
      Math.round(s.rps).toString(),
      s.rpsRatio?.toFixed(2) ?? '-',
      Math.round(s.reqPerCpuSecond).toString(),
      s.cpuRatio?.toFixed(2) ?? '-',
      s.limitRatio?.toFixed(2) ?? '-',
      s.peerRatios
        ? Object.values(s.peerRatios)
            .map((r) => r.toFixed(2))
            .join('/')
        : '-',
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
const { configs, skipped } = plan(FILTER, missing)
if (configs.length === 0) {
  console.error(`no stack matches the filter ${JSON.stringify(FILTER)}`)
  process.exit(1)
}

const dir = mkdtempSync(join(tmpdir(), 'apiward-bench-'))
let redis
try {
  if (configs.some((c) => c.stack.redis)) redis = await startRedis()
  const fixture = await fixtures(dir, redis?.port)
  const recorded = await recordLimitHeaders(configs, fixture)

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
  const failed = new Map(recorded.failed)
  const refusedRuns = []
  for (let round = 1; round <= ROUNDS; round++) {
    // Each round starts at another configuration, so no stack always runs in the same slot
    // (right after a given other one, early or late in the run).
    const shift = ((round - 1) * Math.ceil(configs.length / ROUNDS)) % configs.length
    for (const c of [...configs.slice(shift), ...configs.slice(0, shift)]) {
      const key = `${c.framework}/${c.stack.name}`
      if (failed.has(key)) continue
      try {
        let r = await measure(c, fixture, recorded.bare)
        if (r.cpuShare < MIN_BUSY || r.refused) {
          // The server was not saturated: other work took the CPU from it or from wrk, which
          // inflates the cost per request too. One more try; the busier of the two counts.
          const again = await measure(c, fixture, recorded.bare)
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
  console.log(
    '\nratio = req/s of the stack / bare; /bare, /limit, /peer = req/CPU-s of the stack / bare, its limit, its peer',
  )
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
