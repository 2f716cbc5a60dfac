import { execFile } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { type AuditCheckpoint, auditLog } from '@apiward/audit-log'
import { SecurityEventBus } from '@apiward/core'
import { beforeAll, describe, expect, it } from 'vitest'
import { bundle, tempDir } from './support.js'

const exec = promisify(execFile)
const dir = tempDir()
let cli: string
const checkpoints: AuditCheckpoint[] = []
const good = join(dir, 'good.log')
const KEY = 'an HMAC key of more than thirty-two bytes'

beforeAll(async () => {
  cli = await bundle('../../packages/audit-log/src/cli.ts')
  process.env.AUDIT_CLI_KEY = KEY
  const bus = new SecurityEventBus()
  const log = auditLog({
    destination: { file: good },
    events: bus,
    hmacKeyEnv: 'AUDIT_CLI_KEY',
    checkpointEvery: 5,
    onCheckpoint: (c) => checkpoints.push(c),
  })
  for (let i = 0; i < 8; i++) {
    bus.report('auth.failure', {
      severity: 'warn',
      code: 'auth.invalid_token',
      ip: '10.0.0.1',
      principal: i === 3 ? 'eve\u001b[31m\u009b2J' : 'alice',
    })
  }
  await log.close()
})

/** Runs the CLI; resolves with its exit code and output, whatever the code. */
async function audit(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [cli, ...args], { env: { ...process.env } })
    return { code: 0, stdout, stderr }
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

describe('apiward-audit verify', () => {
  it('passes a good log and says how much it checked', async () => {
    const result = await audit(['verify', '--key-env', 'AUDIT_CLI_KEY', good])
    expect(result).toMatchObject({ code: 0, stdout: 'ok: 12 lines, 1 chain(s) in 1 file(s)\n' })
  })

  it('fails an HMAC-chained log without its key', async () => {
    const result = await audit(['verify', good])
    expect(result.code).toBe(1)
    expect(result.stdout).toContain(`FAILED altered: ${good}:1: the line is HMAC-chained`)
  })

  it('names the file and line of an altered line and exits 1', async () => {
    const bad = join(dir, 'altered.log')
    writeFileSync(bad, readFileSync(good, 'utf8').replace('"principal":"alice"', '"principal":"admin"'))
    const result = await audit(['verify', '--key-env', 'AUDIT_CLI_KEY', bad])
    expect(result.code).toBe(1)
    expect(result.stdout).toMatch(new RegExp(`^FAILED altered: ${bad}:2: `))
  })

  it('finds a cut tail with a checkpoint kept elsewhere', async () => {
    const cut = join(dir, 'cut.log')
    writeFileSync(cut, `${readFileSync(good, 'utf8').split('\n').slice(0, 8).join('\n')}\n`)
    const anchor = checkpoints.find((c) => !c.closed && c.n > 8)!
    const live = await audit(['verify', '--key-env', 'AUDIT_CLI_KEY', '--live', cut])
    expect(live.code).toBe(0)
    const anchored = await audit([
      'verify',
      '--key-env',
      'AUDIT_CLI_KEY',
      '--live',
      '--anchor',
      `${anchor.chain}:${anchor.n}:${anchor.hash}`,
      cut,
    ])
    expect(anchored.code).toBe(1)
    expect(anchored.stdout).toContain('FAILED anchor_missing')
  })

  it('exits 2 with the usage for a mistake on the command line', async () => {
    const result = await audit(['verify', '--nope', good])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('unknown option --nope')
    expect(result.stderr).toContain('Usage:')
    expect((await audit(['frobnicate'])).code).toBe(2)
  })
})

describe('apiward-audit tail', () => {
  it('reads only the end of a large file, in whole lines', async () => {
    const big = join(dir, 'big.log')
    const bus = new SecurityEventBus()
    const log = auditLog({ destination: { file: big }, events: bus, checkpointIntervalMs: false })
    for (let i = 0; i < 3000; i++)
      bus.report('auth.failure', { code: 'auth.invalid_token', ip: `10.1.${i >> 8}.${i & 255}` })
    await log.close()
    const result = await audit(['tail', '-n', '3', big])
    const lines = result.stdout.trimEnd().split('\n')
    expect(lines).toHaveLength(3)
    expect(lines[0]).toContain('ip=10.1.11.182')
    expect(lines[1]).toContain('ip=10.1.11.183')
    expect(lines[2]).toMatch(/ audit\.chain_closed /)
  })

  it('prints the last lines readably, with escape sequences from the log kept escaped', async () => {
    const result = await audit(['tail', '-n', '9', good])
    expect(result.code).toBe(0)
    const lines = result.stdout.trimEnd().split('\n')
    expect(lines).toHaveLength(9)
    expect(lines[0]).toMatch(
      /^\d{4}-\d\d-\d\dT[\d:.]+Z auth\.failure failure .*principal=alice.*reason=auth\.invalid_token/,
    )
    expect(result.stdout.includes('\u001b') || result.stdout.includes('\u009b')).toBe(false)
    expect(result.stdout).toContain('principal="eve\\u001b[31m\\u009b2J"')
    expect(result.stdout).not.toContain('"hash"')
  })
})
