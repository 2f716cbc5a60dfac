// Listening, the ready line, and the shutdown every example shares: on SIGTERM or SIGINT the
// server stops accepting, finishes the requests in flight, the audit log is flushed and closed
// (its closing checkpoint included) and the process exits 0.
import { once } from 'node:events'

/**
 * @param {import('node:http').Server} server a server not yet listening
 * @param {{ name: string, settings: import('./config.js').Settings, security: { audit?: import('@apiward/audit-log').AuditLog, redis?: { quit(): Promise<unknown>, disconnect(): void } } }} app
 */
export async function serve(server, { name, settings, security }) {
  server.listen(settings.port, settings.host)
  await once(server, 'listening')
  const address = server.address()
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
  let stopping = false
  const stop = async () => {
    if (stopping) return
    stopping = true
    const closed = new Promise((done) => server.close(done))
    // Idle keep-alive connections would hold close() open: closed now and as each request in
    // flight is answered, so a keep-alive client never delays the exit.
    server.closeIdleConnections()
    const sweep = setInterval(() => server.closeIdleConnections(), 50)
    const deadline = setTimeout(() => server.closeAllConnections(), 10_000)
    await closed
    clearInterval(sweep)
    clearTimeout(deadline)
    try {
      await security.audit?.close()
    } catch (err) {
      console.error(`${name}: the audit log did not close cleanly: ${err?.message ?? err}`)
      process.exitCode = 1
    }
    security.redis?.disconnect()
    process.exit()
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
  console.log(`notes API (${name}) listening on http://${host}:${address.port}`)
}
