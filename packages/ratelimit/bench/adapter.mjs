// Server CPU per request through Express, and the throughput ratio to the bare route it implies:
// `node packages/ratelimit/bench/adapter.mjs` after `npx tsc -b`. Each server runs in its own
// process and reports the CPU time it spent; the load generator keeps 32 requests in flight over
// keep-alive connections. CPU per request is steadier than wall-clock throughput on a machine
// shared with other work. Compares the synchronous memory guard of rateLimit() with the same
// limit decided through rate-limiter-flexible's RateLimiterMemory (one promise per request).
import { fork } from 'node:child_process'
import { Agent, request } from 'node:http'
import { createRequire } from 'node:module'

const MODES = ['bare', 'guard-noop', 'rateLimit-memory', 'rlf-memory-async']
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)

if (process.argv[2] === 'serve') {
  const require = createRequire(new URL('../../../test/package.json', import.meta.url))
  const express = require('express')
  const { guard } = await import(require.resolve('@apiward/express'))
  const { defineGuard } = await import(require.resolve('@apiward/core'))
  const { rateLimit } = await import('../dist/index.js')
  const { RateLimiterMemory } = await import('rate-limiter-flexible')
  const app = express()
  const mode = process.argv[3]
  const points = 1e9
  if (mode === 'guard-noop') app.use(guard(defineGuard(() => {}, { guardName: 'noop' })))
  if (mode === 'rateLimit-memory') app.use(guard(rateLimit({ points, duration: 60 })))
  if (mode === 'rlf-memory-async') {
    const limiter = new RateLimiterMemory({ points, duration: 60 })
    app.use(
      guard(
        defineGuard(
          (ctx) =>
            limiter.consume(ctx.req.ip, 1).then((res) => {
              ctx.setHeader(
                'RateLimit',
                `"default";r=${res.remainingPoints};t=${Math.ceil(res.msBeforeNext / 1000)}`,
              )
            }),
          { guardName: 'rlf' },
        ),
      ),
    )
  }
  app.get('/', (_req, res) => res.json({ ok: true }))
  const server = app.listen(0, '127.0.0.1', () => process.send(server.address().port))
  let since
  process.on('message', (message) => {
    if (message === 'start') since = process.cpuUsage()
    if (message === 'stop') {
      const used = process.cpuUsage(since)
      process.send(used.user)
    }
  })
} else {
  const results = {}
  for (let round = 0; round < ROUNDS; round++) {
    for (const mode of MODES) {
      const child = fork(new URL(import.meta.url).pathname, ['serve', mode])
      const port = await new Promise((resolve) => child.once('message', resolve))
      const cpu = await load(port, child)
      child.kill()
      results[mode] = Math.min(results[mode] ?? Number.POSITIVE_INFINITY, cpu)
    }
  }
  for (const mode of MODES) {
    const ratio = (results.bare / results[mode]).toFixed(2)
    console.log(
      `${mode.padEnd(20)} ${results[mode].toFixed(1).padStart(6)} µs user CPU/request  ratio ${ratio}`,
    )
  }
}

async function load(port, child) {
  const agent = new Agent({ keepAlive: true, maxSockets: 32 })
  const one = () =>
    new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
        res.resume()
        res.on('end', resolve)
      })
      req.on('error', reject)
      req.end()
    })
  const warmUntil = Date.now() + 1000
  const loop = async (until, counter) => {
    while (Date.now() < until) {
      await one()
      counter.n++
    }
  }
  await Promise.all(Array.from({ length: 32 }, () => loop(warmUntil, { n: 0 })))
  const counter = { n: 0 }
  child.send('start')
  await Promise.all(Array.from({ length: 32 }, () => loop(Date.now() + SECONDS * 1000, counter)))
  const cpu = new Promise((resolve) => child.once('message', resolve))
  child.send('stop')
  agent.destroy()
  return (await cpu) / counter.n
}
