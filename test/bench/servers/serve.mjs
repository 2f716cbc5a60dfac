// One server process: `node serve.mjs <framework> <stack> <config.json>`. Reports its port, then
// its CPU time whenever the runner asks, over the IPC channel.
import { readFileSync } from 'node:fs'
import { createServer } from 'node:http'

const [framework, stack, configPath] = process.argv.slice(2)

try {
  const config = { ...JSON.parse(readFileSync(configPath, 'utf8')), framework }
  const { build } = await import(`./${framework}.mjs`)
  const app = await build(stack, config)
  let port
  if (typeof app === 'function') {
    const server = createServer(app)
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
    port = server.address().port
  } else {
    await app.listen({ port: 0, host: '127.0.0.1' })
    port = app.server.address().port
  }
  process.on('message', (message) => {
    if (message === 'cpu') process.send({ type: 'cpu', usage: process.cpuUsage() })
  })
  process.on('disconnect', () => process.exit(0))
  // An ordinary exit on SIGINT lets a profiler around the process (callgrind) write its counts.
  process.on('SIGINT', () => process.exit(0))
  process.send({ type: 'ready', port })
} catch (err) {
  process.send({ type: 'error', message: err?.stack ?? String(err) }, () => process.exit(1))
}
