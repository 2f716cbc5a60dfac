import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createServer, Socket } from 'node:net'

/** A real `redis-server` on a loopback port, owned by one test file. */
export interface RedisProcess {
  readonly port: number
  readonly url: string
  /** Kills the server (SIGKILL, as a crash would). */
  kill(): Promise<void>
  /** Starts it again on the same port, with empty data. */
  restart(): Promise<void>
  /** Stops it for good. */
  stop(): Promise<void>
}

const CANDIDATES = ['redis-server', '/usr/bin/redis-server', '/usr/local/bin/redis-server']

function binary(): string {
  for (const c of CANDIDATES.slice(1)) if (existsSync(c)) return c
  return CANDIDATES[0]!
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number }
      srv.close(() => resolve(port))
    })
  })
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket()
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(300, () => done(false))
    socket.once('error', () => done(false))
    socket.connect(port, '127.0.0.1', () => socket.write('PING\r\n'))
    socket.once('data', (d) => done(d.toString().startsWith('+PONG')))
  })
}

async function waitFor(port: number, up: boolean): Promise<void> {
  const end = Date.now() + 10_000
  while (Date.now() < end) {
    if ((await ping(port)) === up) return
    await new Promise((r) => setTimeout(r, 25))
  }
  throw new Error(`redis-server on port ${port} did not ${up ? 'start' : 'stop'} in time`)
}

/**
 * Starts `redis-server` on 127.0.0.1 with persistence off. Fails with a clear message when the
 * binary is missing (Debian: `apt-get install redis-server`).
 */
export async function startRedis(): Promise<RedisProcess> {
  const port = await freePort()
  let child: ChildProcess | undefined
  const launch = async () => {
    child = spawn(
      binary(),
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      {
        stdio: 'ignore',
      },
    )
    await new Promise<void>((resolve, reject) => {
      child!.once('error', (err) =>
        reject(
          new Error(`cannot start redis-server (install it: apt-get install redis-server): ${err.message}`),
        ),
      )
      waitFor(port, true).then(resolve, reject)
    })
  }
  const kill = async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child!.once('exit', r))
      child.kill('SIGKILL')
      await exited
    }
    child = undefined
  }
  await launch()
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    kill,
    restart: launch,
    stop: kill,
  }
}
