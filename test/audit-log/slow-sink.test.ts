import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { verifyFiles } from '@apiward/audit-log'
import { beforeAll, describe, expect, it } from 'vitest'
import { bundle, tempDir } from './support.js'

const EVENTS = 20_000
const dir = tempDir()
let flood: string
beforeAll(async () => {
  flood = await bundle('fixtures/flood.ts')
})

describe('a sink that stops reading', () => {
  it('drops beyond the bounded buffer, counts exactly and reports the count once the sink is back', async () => {
    const child = spawn(process.execPath, [flood, String(EVENTS)], { stdio: ['ignore', 'pipe', 'pipe'] })
    let err = ''
    const stats = await new Promise<{ lines: number; dropped: number }>((resolve, reject) => {
      child.stderr.setEncoding('utf8')
      child.stderr.on('data', (chunk: string) => {
        err += chunk
        const line = err.split('\n').find((l) => l.startsWith('stats '))
        if (line !== undefined) resolve(JSON.parse(line.slice(6)))
      })
      child.once('exit', () => reject(new Error(`flood exited early: ${err}`)))
    })
    // Only now is the pipe read: until here nothing drained it.
    const chunks: Buffer[] = []
    const ended = new Promise((done) => child.stdout.once('end', done))
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk))
    const [exit] = await Promise.all([exited, ended])
    expect(exit).toBe(0)
    expect(stats.dropped).toBeGreaterThan(0)
    const text = Buffer.concat(chunks).toString('utf8')
    const records = text
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l))
    const written = records.filter((r) => r.event === 'auth.failure').length
    const reports = records.filter((r) => r.event === 'audit.dropped')
    expect(reports).toHaveLength(1)
    expect(reports[0]!.dropped).toBe(stats.dropped)
    expect(written + stats.dropped).toBe(EVENTS)
    expect(err).toContain(`closed ${stats.dropped}`)
    const file = join(dir, 'stdout.log')
    writeFileSync(file, text)
    expect(verifyFiles([file])).toMatchObject({ ok: true, lines: records.length })
  })
})
