import { createHash } from 'node:crypto'
import { readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { type AuditCheckpoint, auditLog, GENESIS, verifyFiles } from '../src/index.js'
import { linesOf, newBus, recordsOf, tempDir } from './support.js'

const dir = tempDir()
let counter = 0
const fileName = () => join(dir, `audit-${++counter}.log`)

/** Writes `count` auth failures through a log on `file` and closes it. */
async function writeLog(file: string, count: number, options: Parameters<typeof auditLog>[0] = {}) {
  const bus = newBus()
  const log = auditLog({ destination: { file }, events: bus, checkpointIntervalMs: false, ...options })
  for (let i = 0; i < count; i++) {
    bus.report('auth.failure', { severity: 'warn', code: 'auth.invalid_token', ip: `10.0.0.${i % 250}` })
  }
  await log.close()
  return log
}

const rewrite = (file: string, edit: (lines: string[]) => string[]) =>
  writeFileSync(file, `${edit(linesOf(file)).join('\n')}\n`)

describe('the hash chain', () => {
  it('verifies a log as written: a start line, one line per event and a closing line', async () => {
    const file = fileName()
    const log = await writeLog(file, 5)
    const records = recordsOf(file)
    expect(records.map((r) => r.event)).toEqual([
      'audit.chain_started',
      ...Array(5).fill('auth.failure'),
      'audit.chain_closed',
    ])
    expect(records.map((r) => r.n)).toEqual([1, 2, 3, 4, 5, 6, 7])
    expect(new Set(records.map((r) => r.chain))).toEqual(new Set([log.chain]))
    expect(records[0]!.prev).toBe(GENESIS)
    for (let i = 1; i < records.length; i++) expect(records[i]!.prev).toBe(records[i - 1]!.hash)
    expect(verifyFiles([file])).toEqual({ ok: true, lines: 7, chains: [log.chain], problem: undefined })
  })

  it('hashes each line with SHA-256 over its text before the hash field', async () => {
    const file = fileName()
    await writeLog(file, 1)
    const line = linesOf(file)[1]!
    const canonical = line.slice(0, line.lastIndexOf(',"hash":"'))
    expect(JSON.parse(line).hash).toBe(createHash('sha256').update(canonical).digest('hex'))
  })

  it('verifies a file of several megabytes in chunks and still names the right line', async () => {
    const file = fileName()
    await writeLog(file, 12_000)
    expect(verifyFiles([file])).toMatchObject({ ok: true, lines: 12_003 })
    rewrite(file, (lines) => lines.map((l, i) => (i === 9_876 ? l.replace('"n":9877', '"n":9878') : l)))
    expect(verifyFiles([file]).problem).toMatchObject({ kind: 'altered', line: 9_877 })
  })

  it('finds an altered line by file and line number', async () => {
    const file = fileName()
    await writeLog(file, 5)
    rewrite(file, (lines) => lines.map((l, i) => (i === 3 ? l.replace('10.0.0.2', '10.0.0.9') : l)))
    const result = verifyFiles([file])
    expect(result.ok).toBe(false)
    expect(result.problem).toMatchObject({ kind: 'altered', file, line: 4 })
    expect(result.problem!.message).toContain(`${file}:4:`)
  })

  it('finds a deleted line', async () => {
    const file = fileName()
    await writeLog(file, 5)
    rewrite(file, (lines) => lines.filter((_, i) => i !== 2))
    expect(verifyFiles([file]).problem).toMatchObject({ kind: 'missing', line: 3 })
  })

  it('finds two swapped lines', async () => {
    const file = fileName()
    await writeLog(file, 5)
    rewrite(file, (lines) => {
      const out = [...lines]
      ;[out[2], out[3]] = [out[3]!, out[2]!]
      return out
    })
    expect(verifyFiles([file]).problem).toMatchObject({ kind: 'missing', line: 3 })
  })

  it('finds an inserted line, copied from the same chain', async () => {
    const file = fileName()
    await writeLog(file, 5)
    rewrite(file, (lines) => [...lines.slice(0, 4), lines[2]!, ...lines.slice(4)])
    expect(verifyFiles([file]).problem).toMatchObject({ kind: 'reordered', line: 5 })
  })

  it('finds a line forged with a recomputed SHA-256 hash in an HMAC chain', async () => {
    process.env.AUDIT_TEST_KEY = 'k'.repeat(40)
    const file = fileName()
    await writeLog(file, 3, { hmacKeyEnv: 'AUDIT_TEST_KEY' })
    expect(verifyFiles([file], { key: process.env.AUDIT_TEST_KEY }).ok).toBe(true)
    rewrite(file, (lines) =>
      lines.map((line, i) => {
        if (i !== 2) return line
        const canonical = line.slice(0, line.lastIndexOf(',"hash":"')).replace('10.0.0.1', '10.0.0.7')
        return `${canonical},"hash":"${createHash('sha256').update(canonical).digest('hex')}"}`
      }),
    )
    expect(verifyFiles([file], { key: process.env.AUDIT_TEST_KEY }).problem).toMatchObject({
      kind: 'altered',
      line: 3,
    })
    expect(verifyFiles([file]).problem!.kind).toBe('altered')
  })

  it('finds a cut tail: the chain stops without its closing line', async () => {
    const file = fileName()
    await writeLog(file, 5)
    rewrite(file, (lines) => lines.slice(0, -2))
    expect(verifyFiles([file]).problem).toMatchObject({ kind: 'not_closed', line: 5 })
    expect(verifyFiles([file], { live: true }).ok).toBe(true)
  })

  it('finds a cut tail through a checkpoint kept elsewhere, even with a forged closing line gone', async () => {
    const file = fileName()
    const checkpoints: AuditCheckpoint[] = []
    await writeLog(file, 25, { checkpointEvery: 10, onCheckpoint: (c) => checkpoints.push(c) })
    const kept = checkpoints.filter((c) => !c.closed)
    expect(kept.map((c) => c.n)).toEqual([11, 21])
    const records = recordsOf(file)
    expect(records[10]).toMatchObject({ event: 'audit.checkpoint', count: 10, last: records[9]!.hash })
    // Cut after line 15: a "live" log, as far as the file alone shows.
    rewrite(file, (lines) => lines.slice(0, 15))
    expect(verifyFiles([file], { live: true }).ok).toBe(true)
    const result = verifyFiles([file], { live: true, anchors: kept })
    expect(result.problem).toMatchObject({ kind: 'anchor_missing', line: 15 })
  })

  it('verifies rotated files as one chain, oldest first', async () => {
    const file = fileName()
    const bus = newBus()
    const log = auditLog({ destination: { file }, events: bus, checkpointIntervalMs: false })
    bus.report('auth.failure', { code: 'auth.invalid_token' })
    renameSync(file, `${file}.1`)
    log.reopen()
    bus.report('auth.failure', { code: 'auth.missing_token' })
    await log.close()
    expect(recordsOf(`${file}.1`).map((r) => r.event)).toEqual([
      'audit.chain_started',
      'auth.failure',
      'audit.checkpoint',
    ])
    expect(recordsOf(file).map((r) => r.n)).toEqual([4, 5])
    expect(verifyFiles([`${file}.1`, file])).toMatchObject({ ok: true, lines: 5, chains: [log.chain] })
    expect(verifyFiles([file]).problem).toMatchObject({ kind: 'missing', file, line: 1 })
    expect(verifyFiles([file, `${file}.1`]).ok).toBe(false)
  })

  it('finds a line deleted, altered or moved across a rotation', async () => {
    const file = fileName()
    const bus = newBus()
    const log = auditLog({ destination: { file }, events: bus, checkpointIntervalMs: false })
    for (let i = 0; i < 3; i++) bus.report('auth.failure', { code: 'auth.invalid_token', ip: `10.0.1.${i}` })
    renameSync(file, `${file}.1`)
    log.reopen()
    for (let i = 0; i < 3; i++) bus.report('auth.failure', { code: 'auth.invalid_token', ip: `10.0.2.${i}` })
    await log.close()
    const old = linesOf(`${file}.1`)
    const current = linesOf(file)
    expect(verifyFiles([`${file}.1`, file]).ok).toBe(true)
    // The old file's closing checkpoint removed: the new file no longer follows it.
    writeFileSync(`${file}.1`, `${old.slice(0, -1).join('\n')}\n`)
    expect(verifyFiles([`${file}.1`, file]).problem).toMatchObject({ kind: 'missing', file, line: 1 })
    // A line moved from the new file to the end of the old one.
    writeFileSync(`${file}.1`, `${[...old, current[1]!].join('\n')}\n`)
    expect(verifyFiles([`${file}.1`, file]).problem).toMatchObject({
      kind: 'missing',
      file: `${file}.1`,
      line: 6,
    })
    writeFileSync(`${file}.1`, `${old.join('\n')}\n`)
    writeFileSync(file, `${current.map((l) => l.replace('10.0.2.1', '10.0.2.9')).join('\n')}\n`)
    expect(verifyFiles([`${file}.1`, file]).problem).toMatchObject({ kind: 'altered', file, line: 2 })
  })

  it('starts a new chain linked to the last line when a restarted process appends', async () => {
    const file = fileName()
    const first = await writeLog(file, 2)
    const second = await writeLog(file, 2)
    const records = recordsOf(file)
    expect(records[4]).toMatchObject({
      event: 'audit.chain_started',
      n: 1,
      chain: second.chain,
      previousChain: first.chain,
      prev: records[3]!.hash,
    })
    expect(verifyFiles([file])).toMatchObject({ ok: true, chains: [first.chain, second.chain] })
    rewrite(file, (lines) => lines.filter((_, i) => i !== 3))
    expect(verifyFiles([file]).problem).toMatchObject({ kind: 'not_closed', line: 3 })
  })

  it('reports a line cut while being written, then links the next chain after it', async () => {
    const file = fileName()
    await writeLog(file, 2)
    const text = readFileSync(file, 'utf8')
    writeFileSync(file, text.slice(0, -20))
    await writeLog(file, 1)
    expect(verifyFiles([file]).problem).toMatchObject({ kind: 'unreadable', line: 4 })
    expect(linesOf(file)[4]).toContain('"audit.chain_started"')
  })
})
