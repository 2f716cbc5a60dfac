import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

interface DemoRun {
  code: number | null
  stdout: string
  stderr: string
}

// The demo runs the built packages, as `pnpm demo` does after `tsc -b` (`pnpm test` builds first).
function runDemo(env: NodeJS.ProcessEnv, example?: string): Promise<DemoRun> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [join(root, 'examples/demo/demo.mjs'), ...(example === undefined ? [] : [example])],
      { cwd: root, env: { ...process.env, ...env }, timeout: 90_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null
        done({ code, stdout, stderr })
      },
    )
  })
}

/** The table row whose first cell is `label`, its cells split on the column gaps. */
function row(stdout: string, label: string): string[] {
  const line = stdout.split('\n').find((text) => text.startsWith(`${label} `))
  if (line === undefined) throw new Error(`no row "${label}" in:\n${stdout}`)
  return line.split(/ {2,}/)
}

describe('pnpm demo', { timeout: 120_000 }, () => {
  it('walks the Express reference API through every attack, verifies the audit chain and exits 0', async () => {
    expect(existsSync(join(root, 'packages/audit-log/dist/index.js'))).toBe(true)
    const run = await runDemo({ NO_COLOR: '1', FORCE_COLOR: '0' })
    expect(run.stderr).toBe('')
    expect(run.code).toBe(0)
    expect(run.stdout).not.toContain('\x1b[')
    expect(row(run.stdout, 'a valid token lists its own notes').slice(1, 3)).toEqual(['GET /notes', '200'])
    expect(row(run.stdout, 'alg: none (an unsigned token)').slice(2)).toEqual([
      '401',
      'jwt()',
      'auth.invalid_token',
      'ok',
    ])
    expect(row(run.stdout, 'HS256 signed with the public key').slice(2, 5)).toEqual([
      '401',
      'jwt()',
      'auth.invalid_token',
    ])
    expect(row(run.stdout, "another user's note (alice reads bob's)").slice(1, 5)).toEqual([
      'GET /notes/note-bob-1',
      '404',
      'owner()',
      'route.not_found',
    ])
    expect(row(run.stdout, 'mass assignment ("ownerId": "bob")').slice(2, 5)).toEqual([
      '400',
      'validate()',
      'validation.rejected',
    ])
    expect(row(run.stdout, 'brute force: then the right password').slice(2, 5)).toEqual([
      '429',
      expect.stringMatching(/^bruteForce/),
      'ratelimit.too_many_failures',
    ])
    expect(row(run.stdout, 'CORS preflight from a foreign origin').slice(2)).toEqual([
      '204',
      'cors()',
      '-',
      'ok',
    ])
    expect(run.stdout).toMatch(/audit log: hash chain verified, \d+ lines/)
    expect(run.stdout).toContain('SIGTERM -> exit 0')
    expect(run.stdout).not.toContain('UNEXPECTED')
  })

  it('exits 1 and marks every broken promise when the API it runs has no guards', async () => {
    const run = await runDemo({ NO_COLOR: '1' }, join(root, 'test/examples/fixtures/careless-api'))
    expect(run.code).toBe(1)
    expect(row(run.stdout, 'alg: none (an unsigned token)').slice(2, 4)).toEqual(['200', '-'])
    expect(row(run.stdout, 'alg: none (an unsigned token)').at(-1)).toBe(
      'UNEXPECTED: status 200, expected 401; code none, expected auth.invalid_token; not an application/problem+json answer',
    )
    expect(row(run.stdout, 'a valid token lists its own notes').at(-1)).toBe('ok')
    expect(run.stdout).toContain('is empty or missing')
    expect(run.stdout).toMatch(/\d+ unexpected answer\(s\)/)
  })
})
