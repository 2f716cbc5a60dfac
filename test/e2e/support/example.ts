import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { send } from './http.js'

/** The four examples of the reference API. */
export const FRAMEWORKS = ['express', 'koa', 'fastify', 'hono'] as const
export type Framework = (typeof FRAMEWORKS)[number]

const ROOT = resolve(import.meta.dirname, '../../..')

/**
 * The framework the costly scenarios (Redis Cluster, killed Redis) run on: one per Node major, so
 * the CI matrix covers two of them without running each scenario four times.
 * `APIWARD_E2E_FRAMEWORK` picks another one.
 */
export function scenarioFramework(): Framework {
  const chosen = process.env.APIWARD_E2E_FRAMEWORK
  if (chosen !== undefined && chosen !== '') {
    if (!(FRAMEWORKS as readonly string[]).includes(chosen))
      throw new TypeError(`APIWARD_E2E_FRAMEWORK must be one of ${FRAMEWORKS.join(', ')}, got "${chosen}"`)
    return chosen as Framework
  }
  const major = Number(process.versions.node.split('.')[0])
  if (major === 20) return 'express'
  if (major === 24) return 'fastify'
  return major % 2 === 0 ? 'koa' : 'hono'
}

/**
 * An example's `start` script as `node` commands: the steps before the last (the build of the
 * packages it runs on) and the server itself. The suite starts the example exactly as `pnpm start`
 * would, without needing pnpm on PATH.
 */
export function startCommands(framework: Framework): { cwd: string; steps: Step[]; server: string[] } {
  const cwd = join(ROOT, 'examples', framework)
  const manifest = JSON.parse(readFileSync(join(cwd, 'package.json'), 'utf8')) as {
    scripts?: Record<string, string>
  }
  const script = manifest.scripts?.start
  if (!script) throw new Error(`examples/${framework}/package.json has no "start" script`)
  // Steps joined by `&&` must succeed; a step followed by `;` may fail, as in the shell.
  const parts = script.split(/(&&|;)/)
  const steps: Step[] = []
  for (let i = 0; i < parts.length; i += 2) {
    // `exec node server.js` lets the shell hand the process over: the signals reach Node itself.
    const command = parts[i]!.trim()
      .replace(/^exec\s+/, '')
      .split(/\s+/)
    if (command[0] !== 'node')
      throw new Error(
        `examples/${framework}: every step of the start script must be "node ...", got "${script}"`,
      )
    steps.push({ args: command.slice(1), mustSucceed: parts[i + 1] !== ';' })
  }
  return { cwd, steps: steps.slice(0, -1), server: steps.at(-1)!.args }
}

interface Step {
  args: string[]
  mustSucceed: boolean
}

const prepared = new Set<Framework>()

/**
 * Runs the build steps of an example's start script once per test process, under a lock so that
 * test files running side by side do not build the same packages at the same time.
 */
function prepare(framework: Framework, cwd: string, steps: Step[]): void {
  if (prepared.has(framework)) return
  for (const { args, mustSucceed } of steps) {
    const locked = spawnSync('flock', [BUILD_LOCK, process.execPath, ...args], { cwd, encoding: 'utf8' })
    const result =
      locked.error === undefined ? locked : spawnSync(process.execPath, args, { cwd, encoding: 'utf8' })
    if (result.status !== 0 && mustSucceed)
      throw new Error(
        `examples/${framework}: "node ${args.join(' ')}" failed:\n${result.stdout}${result.stderr}`,
      )
  }
  prepared.add(framework)
}

const BUILD_LOCK = join(tmpdir(), 'apiward-e2e-build.lock')

export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number }
      srv.close(() => resolvePort(port))
    })
  })
}

/** One running example process. */
export interface Example {
  readonly framework: Framework
  readonly port: number
  /** This instance's own `AUDIT_LOG` file. */
  readonly auditFile: string
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string
  /** Sends SIGTERM and resolves with the exit code (throws when it does not exit within 10 s). */
  stop(): Promise<number | null>
  /** Sends the signal without waiting. */
  signal(name: NodeJS.Signals): void
  /** Resolves with the exit code once the process has exited. */
  readonly exited: Promise<number | null>
}

const dirs: string[] = []

/**
 * Starts an example on a free loopback port with the contract's environment, its own audit
 * file, and waits for its ready line and a healthy `/health`.
 */
export async function startExample(framework: Framework, env: Record<string, string> = {}): Promise<Example> {
  const { cwd, steps, server: args } = startCommands(framework)
  prepare(framework, cwd, steps)
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), `apiward-e2e-${framework}-`))
  dirs.push(dir)
  const auditFile = join(dir, 'audit.log')
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? tmpdir(),
      HOST: '127.0.0.1',
      PORT: String(port),
      AUDIT_LOG: auditFile,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  let ready = false
  let markReady: () => void = () => {}
  const readyLine = new Promise<void>((r) => {
    markReady = r
  })
  child.stdout!.on('data', (chunk: Buffer) => {
    output += chunk.toString()
    if (!ready && output.includes('\n')) {
      ready = true
      markReady()
    }
  })
  child.stderr!.on('data', (chunk: Buffer) => {
    output += chunk.toString()
  })
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)))
  const failed = exited.then((code) => {
    throw new Error(`examples/${framework} exited with ${code} before it was ready:\n${output}`)
  })
  const timeout = new Promise<never>((_, reject) =>
    setTimeout(
      () => reject(new Error(`examples/${framework} logged no ready line in 20 s:\n${output}`)),
      20_000,
    ).unref(),
  )
  await Promise.race([readyLine.then(() => healthy(port)), failed, timeout])
  failed.catch(() => {})
  return {
    framework,
    port,
    auditFile,
    output: () => output,
    exited,
    signal: (name) => child.kill(name),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
      const code = await exited
      clearTimeout(timer)
      if (child.signalCode === 'SIGKILL')
        throw new Error(`examples/${framework} did not exit within 10 s of SIGTERM`)
      return code
    },
  }
}

async function healthy(port: number): Promise<void> {
  const end = Date.now() + 10_000
  for (;;) {
    try {
      const res = await send(port, { path: '/health', timeoutMs: 1000 })
      if (res.status === 200) return
    } catch (err) {
      if (Date.now() > end) throw err
    }
    if (Date.now() > end) throw new Error(`/health on port ${port} never answered 200`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** Removes the temp directories of every example this process started. */
export function cleanUp(): void {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
}
