import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { auditLog, verifyFiles } from '../src/index.js'
import { linesOf, newBus, recordsOf, tempDir } from './support.js'

const dir = tempDir()

describe('sinks', () => {
  it('writes through a pino transport in a worker thread', async () => {
    const file = join(dir, 'transport.log')
    const bus = newBus()
    const log = auditLog({
      destination: { transport: { target: 'pino/file', options: { destination: file } } },
      events: bus,
    })
    for (let i = 0; i < 50; i++) bus.report('auth.failure', { code: 'auth.invalid_token' })
    await log.close()
    const records = recordsOf(file)
    expect(records.filter((r) => r.event === 'auth.failure')).toHaveLength(50)
    expect(verifyFiles([file]).ok).toBe(true)
  })

  it('buffers a stream that pushes back up to the bound, then drops, counts and reports', async () => {
    const chunks: string[] = []
    let release: (() => void) | undefined
    const stream = new Writable({
      highWaterMark: 1024,
      write(chunk, _encoding, done) {
        chunks.push(String(chunk))
        // Stalls until released: the sink is slow.
        if (release === undefined && chunks.length === 1) release = done
        else done()
      },
    })
    const bus = newBus()
    const reported: number[] = []
    bus.on((e) => {
      if (e.type === 'audit.dropped') reported.push(e.dropped)
    })
    const log = auditLog({ destination: { stream }, events: bus, bufferBytes: 512, maxBufferBytes: 8 * 1024 })
    for (let i = 0; i < 500; i++)
      bus.report('auth.failure', { code: 'auth.invalid_token', ip: `10.0.0.${i % 200}` })
    const { dropped } = log.stats()
    expect(dropped).toBeGreaterThan(0)
    expect(reported).toEqual([])
    release!()
    await new Promise((done) => setTimeout(done, 20))
    expect(reported).toEqual([dropped])
    await log.close()
    const file = join(dir, 'stream.log')
    writeFileSync(file, chunks.join(''))
    const records = recordsOf(file)
    expect(records.filter((r) => r.event === 'auth.failure').length + dropped).toBe(500)
    expect(records.find((r) => r.event === 'audit.dropped')!.dropped).toBe(dropped)
    expect(verifyFiles([file]).ok).toBe(true)
    expect(linesOf(file).at(-1)).toContain('"audit.chain_closed"')
  })
})
