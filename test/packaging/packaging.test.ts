import { execFile } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

const run = promisify(execFile)
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const bin = (name: string) => join(root, 'node_modules', '.bin', name)

const packages = readdirSync(join(root, 'packages'))
  .filter((dir) => existsSync(join(root, 'packages', dir, 'package.json')))
  .map((dir) => {
    const manifest = JSON.parse(readFileSync(join(root, 'packages', dir, 'package.json'), 'utf8'))
    return { dir: join(root, 'packages', dir), name: manifest.name as string, manifest }
  })

// These tests run real tools (node, publint, attw, tsc) in child processes: generous timeouts
// keep a loaded CI machine from failing them for slowness alone.
const TOOL_TIMEOUT = 120_000

describe.each(packages)('the built package $name', { timeout: TOOL_TIMEOUT }, ({ dir, name, manifest }) => {
  it('declares ESM, no side effects, Node >= 20.19 and an exports map with types first', () => {
    expect(manifest.type).toBe('module')
    expect(manifest.sideEffects).toBe(false)
    expect(manifest.engines.node).toBe('>=20.19')
    const conditions = Object.keys(manifest.exports['.'])
    expect(conditions.indexOf('types')).toBeLessThan(conditions.indexOf('default'))
    expect(existsSync(join(dir, 'README.md'))).toBe(true)
  })

  it('is imported from ESM and required from CommonJS', async () => {
    const esm = await run(
      process.execPath,
      ['--input-type=module', '-e', `const m = await import('${name}'); console.log(Object.keys(m).length)`],
      { cwd: join(root, 'test') },
    )
    const cjs = await run(process.execPath, ['-e', `console.log(Object.keys(require('${name}')).length)`], {
      cwd: join(root, 'test'),
    })
    expect(Number(esm.stdout)).toBeGreaterThan(0)
    expect(cjs.stdout).toBe(esm.stdout)
  })

  it('passes publint', async () => {
    const { stdout } = await run(bin('publint'), ['--strict', dir])
    expect(stdout).toContain('All good')
  })

  it('has types that resolve for every module resolution (are-the-types-wrong)', async () => {
    // require(esm) is supported from Node 20.19, the oldest Node this package supports.
    const result = await run(
      bin('attw'),
      ['--pack', dir, '--ignore-rules', 'cjs-resolves-to-esm', '--format', 'ascii'],
      {
        cwd: dir,
      },
    ).catch((err: { stdout: string; code: number }) => err)
    expect('code' in result ? result.code : 0, result.stdout).toBe(0)
  })
})

/** What `pnpm pack` puts in a package's tarball, as paths. */
async function packed(dir: string): Promise<string[]> {
  const { stdout } = await run('npx', ['-y', 'pnpm@10.34.9', 'pack', '--dry-run', '--json'], { cwd: dir })
  const report = JSON.parse(stdout) as { files: Array<{ path: string }> }
  return report.files.map((file) => file.path)
}

/** Every file an `exports` map points to. */
function exportTargets(exports: unknown): string[] {
  if (typeof exports === 'string') return [exports.replace(/^\.\//, '')]
  if (typeof exports !== 'object' || exports === null) return []
  return Object.entries(exports).flatMap(([condition, target]) =>
    condition === 'apiward:source' ? [] : exportTargets(target),
  )
}

const MIT = /^MIT License\n\nCopyright \(c\) \d{4} apiward contributors\n/

describe('the license', () => {
  it('is MIT, by apiward contributors, at the root of the repository', () => {
    expect(readFileSync(join(root, 'LICENSE'), 'utf8')).toMatch(MIT)
  })
})

describe.each(packages)('the tarball of $name', { timeout: TOOL_TIMEOUT }, ({ dir, manifest }) => {
  it('holds the license, the readme, the built code and every export target, and no build state', async () => {
    expect(manifest.license).toBe('MIT')
    expect(readFileSync(join(dir, 'LICENSE'), 'utf8')).toMatch(MIT)
    const files = await packed(dir)
    expect(files).toEqual(expect.arrayContaining(['LICENSE', 'README.md', 'package.json', 'dist/index.js']))
    expect(files).toEqual(expect.arrayContaining(exportTargets(manifest.exports)))
    expect(files.filter((f) => f.endsWith('.tsbuildinfo'))).toEqual([])
    expect(files.filter((f) => /(^|\/)(test|bench|node_modules)\/|\.test(-d)?\.ts$/.test(f))).toEqual([])
  })
})

describe('a consumer project', { timeout: TOOL_TIMEOUT }, () => {
  it('type-checks against the built declarations (NodeNext and bundler resolution)', async () => {
    const consumer = join(root, 'test', 'packaging', 'consumer')
    for (const project of ['tsconfig.nodenext.json', 'tsconfig.bundler.json']) {
      const result = await run(bin('tsc'), ['-p', join(consumer, project)]).catch(
        (err: { stdout: string; code: number }) => err,
      )
      expect('code' in result ? result.code : 0, result.stdout).toBe(0)
    }
  })
})
