import { Agent, request } from 'node:http'
import { join } from 'node:path'
import { verifyFiles } from '@apiward/audit-log'
import { beforeAll, describe, expect, it } from 'vitest'
import { harnesses } from '../conformance/servers/index.js'
import { bundle, recordsOf, run, tempDir } from './support.js'

const REQUESTS = 10_000
const CONCURRENCY = 16

let server: string
let exiter: string
const dir = tempDir()
beforeAll(async () => {
  server = await bundle('fixtures/server.ts')
  exiter = await bundle('fixtures/exit.ts')
})

describe('process.exit()', () => {
  it('writes the buffered lines and the closing line of a process that exits', async () => {
    const file = join(dir, 'exit.log')
    const child = run(exiter, [file, '500'])
    expect((await child.exited).code, child.stderr()).toBe(3)
    const records = recordsOf(file)
    expect(records.filter((r) => r.event === 'auth.failure')).toHaveLength(500)
    expect(records.at(-1)!.event).toBe('audit.chain_closed')
    expect(verifyFiles([file]).ok).toBe(true)
  })
})

/** Sends `count` requests over a few keep-alive connections; resolves with the statuses received. */
async function load(url: string, count: number): Promise<number[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY })
  const statuses: number[] = []
  let next = 0
  const one = (i: number) =>
    new Promise<void>((resolve, reject) => {
      const path = i % 4 === 3 ? '/deny' : `/ok/${i}`
      const req = request(`${url}${path}`, { agent }, (res) => {
        res.resume()
        res.on('end', () => {
          statuses.push(res.statusCode ?? 0)
          resolve()
        })
      })
      req.on('error', reject)
      req.end()
    })
  const worker = async () => {
    while (next < count) await one(next++)
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker))
  agent.destroy()
  return statuses
}

describe.each(harnesses)('shutdown on $name', { timeout: 120_000 }, ({ name }) => {
  it(`leaves exactly one request.completed per answered request after ${REQUESTS} requests and SIGTERM`, async () => {
    const file = join(dir, `${name}.log`)
    const child = run(server, [name, file])
    const url = (await child.line('ready ')).slice('ready '.length)
    const statuses = await load(url, REQUESTS)
    child.process.kill('SIGTERM')
    const exit = await child.exited
    expect(exit.signal).toBe('SIGTERM')
    expect(statuses).toHaveLength(REQUESTS)
    const records = recordsOf(file)
    const completed = records.filter((r) => r.event === 'request.completed')
    expect(completed).toHaveLength(REQUESTS)
    expect(completed.filter((r) => r.status === 401)).toHaveLength(statuses.filter((s) => s === 401).length)
    expect(
      completed.filter((r) => r.status === 200 && r.principal === 'alice' && r.credential === 'jwt'),
    ).toHaveLength(statuses.filter((s) => s === 200).length)
    expect(completed.find((r) => r.status === 200)!.route).toBe('/ok/:id')
    expect(completed.find((r) => r.status === 401)!.reason).toBe('auth.missing_token')
    expect(records.at(-1)!.event).toBe('audit.chain_closed')
    expect(verifyFiles([file])).toMatchObject({ ok: true, lines: records.length })
  })
})
