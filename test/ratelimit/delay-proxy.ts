import { createServer, type Server, Socket } from 'node:net'

/** A TCP proxy on loopback that holds client bytes back for `delayMs`: a slow, not a dead, Redis. */
export interface DelayProxy {
  readonly port: number
  readonly url: string
  /** Milliseconds every chunk from the client waits before it is forwarded; 0 passes at once. */
  delayMs: number
  close(): Promise<void>
}

/** Starts a proxy to `127.0.0.1:targetPort` on a free loopback port. */
export function startDelayProxy(targetPort: number): Promise<DelayProxy> {
  const sockets = new Set<Socket>()
  let server: Server
  const proxy = {
    port: 0,
    url: '',
    delayMs: 0,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
  }
  server = createServer((client) => {
    const upstream = new Socket()
    sockets.add(client)
    sockets.add(upstream)
    // Chunks keep their order: each is released no earlier than the one before it.
    let releaseAt = 0
    client.on('data', (chunk) => {
      releaseAt = Math.max(releaseAt, Date.now() + proxy.delayMs)
      const wait = releaseAt - Date.now()
      if (wait <= 0) upstream.write(chunk)
      else setTimeout(() => upstream.destroyed || upstream.write(chunk), wait)
    })
    upstream.on('data', (chunk) => client.destroyed || client.write(chunk))
    const end = () => {
      client.destroy()
      upstream.destroy()
      sockets.delete(client)
      sockets.delete(upstream)
    }
    client.on('close', end)
    upstream.on('close', end)
    client.on('error', end)
    upstream.on('error', end)
    upstream.connect(targetPort, '127.0.0.1')
  })
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      proxy.port = (server.address() as { port: number }).port
      proxy.url = `redis://127.0.0.1:${proxy.port}`
      resolve(proxy)
    })
  })
}
