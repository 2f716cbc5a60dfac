import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

/** A three-master Redis Cluster on loopback, owned by one test file. */
export interface RedisCluster {
  readonly ports: readonly number[]
  /** `host:port` seeds, as `REDIS_CLUSTER_NODES` takes them. */
  readonly seeds: string
  /** Kills one node (SIGKILL, as a crash would). */
  kill(index: number): Promise<void>
  /** Starts a killed node again with its cluster configuration, and waits for the cluster to be whole. */
  restart(index: number): Promise<void>
  stop(): Promise<void>
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer()
    srv.once('error', () => resolve(false))
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)))
  })
}

/** A port whose cluster bus port (port + 10000) is free as well. */
async function clusterPort(taken: number[]): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 20_000)
    if (taken.includes(port)) continue
    if ((await portFree(port)) && (await portFree(port + 10_000))) return port
  }
}

async function clusterState(port: number): Promise<string> {
  try {
    const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), 'cluster', 'info'])
    return /cluster_state:(\w+)/.exec(stdout)?.[1] ?? 'unknown'
  } catch {
    return 'down'
  }
}

async function until(what: string, check: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`Redis Cluster: ${what} did not happen within ${ms} ms`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

/**
 * Starts three `redis-server --cluster-enabled yes` nodes (persistence off, a one-second node
 * timeout so a killed node is noticed quickly) and joins them with `redis-cli --cluster create`.
 */
export async function startCluster(): Promise<RedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'apiward-e2e-cluster-'))
  const ports: number[] = []
  for (let i = 0; i < 3; i++) ports.push(await clusterPort(ports))
  const children: Array<ChildProcess | undefined> = []
  const launch = async (index: number) => {
    const port = ports[index]!
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(dir, `nodes-${port}.conf`),
        '--cluster-node-timeout',
        '1000',
        '--save',
        '',
        '--appendonly',
        'no',
      ],
      { cwd: dir, stdio: 'ignore' },
    )
    children[index] = child
    child.once('error', () => {})
    await until(`node ${port} starting`, async () => (await clusterState(port)) !== 'down')
  }
  for (let i = 0; i < 3; i++) await launch(i)
  await run('redis-cli', [
    '--cluster',
    'create',
    ...ports.map((p) => `127.0.0.1:${p}`),
    '--cluster-replicas',
    '0',
    '--cluster-yes',
  ])
  const whole = () =>
    until('cluster_state:ok on every node', async () => {
      for (const port of ports) if ((await clusterState(port)) !== 'ok') return false
      return true
    })
  await whole()
  const kill = async (index: number) => {
    const child = children[index]
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r))
      child.kill('SIGKILL')
      await exited
    }
    children[index] = undefined
  }
  return {
    ports,
    seeds: ports.map((p) => `127.0.0.1:${p}`).join(','),
    kill,
    async restart(index) {
      await launch(index)
      await whole()
    },
    async stop() {
      for (let i = 0; i < 3; i++) await kill(i)
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
