import { type ChildProcess, spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll } from 'vitest'

const here = dirname(fileURLToPath(import.meta.url))
/** Bundles go under test/node_modules, which git ignores. */
const outDir = join(here, '..', 'node_modules', '.cache', 'apiward-audit-log')

/** The part of esbuild's API the fixtures use. */
interface Esbuild {
  build(options: Record<string, unknown>): Promise<unknown>
}

/** esbuild, as vitest's own vite has it: no dependency of its own for child-process fixtures. */
function esbuild(): Esbuild {
  const require = createRequire(import.meta.url)
  const vite = createRequire(require.resolve('vitest/package.json')).resolve('vite')
  return createRequire(vite)('esbuild') as Esbuild
}

/**
 * Bundles a TypeScript entry for a child process with everything it imports, the workspace
 * packages from their sources (`apiward:source`). Returns the bundle's path.
 */
export async function bundle(entry: string): Promise<string> {
  mkdirSync(outDir, { recursive: true })
  const name = entry.split('/').at(-1)!.replace(/\.ts$/, '')
  const outfile = join(outDir, `${name}-${process.pid}.mjs`)
  await esbuild().build({
    entryPoints: [join(here, entry)],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    conditions: ['apiward:source'],
    logLevel: 'error',
    // CommonJS dependencies bundled into ESM still call require() for Node's own modules.
    banner: {
      js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
    },
  })
  afterAll(() => rmSync(outfile, { force: true }))
  return outfile
}

/** A child process running a bundle, with its stdout lines collected. */
export interface Child {
  readonly process: ChildProcess
  /** Resolves with the first stdout line that starts with `prefix`. */
  line(prefix: string): Promise<string>
  /** Resolves with the exit code and signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  stderr(): string
}

export function run(bundlePath: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Child {
  const child = spawn(process.execPath, [bundlePath, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  })
  let out = ''
  let err = ''
  const waiters: Array<{ prefix: string; resolve: (line: string) => void }> = []
  child.stdout!.setEncoding('utf8')
  child.stdout!.on('data', (chunk: string) => {
    out += chunk
    for (const waiter of [...waiters]) {
      const line = out.split('\n').find((l) => l.startsWith(waiter.prefix))
      if (line === undefined) continue
      waiters.splice(waiters.indexOf(waiter), 1)
      waiter.resolve(line)
    }
  })
  child.stderr!.setEncoding('utf8')
  child.stderr!.on('data', (chunk: string) => {
    err += chunk
  })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  )
  return {
    process: child,
    line: (prefix) =>
      new Promise((resolve, reject) => {
        const found = out.split('\n').find((l) => l.startsWith(prefix))
        if (found !== undefined) return resolve(found)
        waiters.push({ prefix, resolve })
        void exited.then(({ code, signal }) =>
          reject(new Error(`child exited (${code ?? signal}) before "${prefix}": ${err}`)),
        )
      }),
    exited,
    stderr: () => err,
  }
}

/** A temporary directory removed after the file's tests. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'apiward-audit-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** The parsed lines of an audit file. */
export function recordsOf(file: string): Record<string, any>[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line))
}
