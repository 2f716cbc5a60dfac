/**
 * Serves the scenario app on Bun or Deno at 127.0.0.1 on a free port and prints
 * `listening <port>` once it accepts connections; the vitest side drives it over HTTP.
 */
import { ENTRIES, scenarioHandler } from './app.js'

interface BunLike {
  serve(options: {
    port: number
    hostname: string
    fetch: (request: Request, server: unknown) => Promise<Response>
  }): { port: number }
}
interface DenoLike {
  serve(
    options: { port: number; hostname: string; onListen: (address: { port: number }) => void },
    handler: (request: Request, info: unknown) => Promise<Response>,
  ): unknown
}

const runtime = globalThis as { Bun?: BunLike; Deno?: DenoLike }
const handler = scenarioHandler()

const failed: string[] = []
for (const entry of ENTRIES) {
  try {
    await import(entry)
  } catch (err) {
    failed.push(`${entry}: ${String(err)}`)
  }
}
console.log(`entries ${ENTRIES.length} failed ${JSON.stringify(failed)}`)

if (runtime.Bun !== undefined) {
  const server = runtime.Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: handler })
  console.log(`listening ${server.port}`)
} else if (runtime.Deno !== undefined) {
  runtime.Deno.serve(
    { port: 0, hostname: '127.0.0.1', onListen: ({ port }) => console.log(`listening ${port}`) },
    handler,
  )
} else {
  throw new Error('serve-runtime.ts runs on Bun or Deno')
}
