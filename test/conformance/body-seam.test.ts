import { connect } from 'node:net'
import { defineGuard } from '@apiward/core'
import { Forbidden } from '@apiward/errors'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { send } from './client.js'
import type { RunningServer } from './harness.js'
import { harnesses } from './servers/index.js'

const LIMIT = 64

/** A guard that checks a signature over the raw bytes, then hands the handler what it parsed. */
const signed = defineGuard(
  async (ctx) => {
    const bytes = await ctx.readBody(LIMIT)
    const again = await ctx.readBody(LIMIT)
    const text = new TextDecoder().decode(bytes)
    if (!text.startsWith('signed:')) throw new Forbidden({ code: 'test.unsigned' })
    ctx.setHeader('X-Read-Once', String(again === bytes))
    ctx.setBody({ verified: text.slice('signed:'.length), bytes: bytes.length })
  },
  { guardName: 'signed', readsRawBody: true },
)

/** One request over a raw socket, with a chunked body of `size` bytes; resolves to the status line. */
function chunked(url: string, size: number): Promise<string> {
  const { port } = new URL(url)
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1')
    let answer = ''
    socket.on('data', (d) => {
      answer += d.toString('latin1')
    })
    socket.on('error', () => resolve(answer.split('\r\n')[0] ?? ''))
    socket.on('close', () => resolve(answer.split('\r\n')[0] ?? ''))
    socket.on('connect', () => {
      socket.write(
        'POST /raw HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n',
      )
      const chunk = 'signed:'.padEnd(32, 'x')
      for (let sent = 0; sent < size; sent += chunk.length)
        socket.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`)
      socket.write('0\r\n\r\n')
    })
    setTimeout(() => reject(new Error('no answer')), 5000).unref()
  })
}

describe.each(harnesses)('$name adapter: the body seam', (harness) => {
  let server: RunningServer
  beforeAll(async () => {
    server = await harness.start({
      routes: [
        { method: 'POST', path: '/raw', guards: [signed], handler: ({ body }) => ({ body: { seen: body } }) },
      ],
    })
  })
  afterAll(async () => {
    await server.close()
  })

  const post = (body: string, headers: Record<string, string> = {}) =>
    send(`${server.url}/raw`, { method: 'POST', body, headers: { 'Content-Type': 'text/plain', ...headers } })

  it('lets a guard read the raw bytes once and hand the handler the body it parsed', async () => {
    const answer = await post('signed:hello')
    expect(answer.status).toBe(200)
    expect(answer.json).toEqual({ seen: { verified: 'hello', bytes: 12 } })
    expect(answer.headers['x-read-once']).toBe('true')
  })

  it('answers what the guard decided on the bytes', async () => {
    const answer = await post('unsigned')
    expect(answer.status).toBe(403)
    expect(answer.json.code).toBe('test.unsigned')
  })

  it('refuses a declared length over the limit before reading it', async () => {
    const answer = await post('signed:'.padEnd(LIMIT + 1, 'x'))
    expect(answer.status).toBe(413)
    expect(answer.headers['content-type']).toMatch(/^application\/problem\+json/)
    expect(answer.json.code).toBe('request.body_too_large')
  })

  it('refuses a chunked body at the byte that passes the limit', async () => {
    expect(await chunked(server.url, 4096)).toMatch(/^HTTP\/1\.1 413 /)
  })

  it('takes a body exactly at the limit', async () => {
    const answer = await post('signed:'.padEnd(LIMIT, 'y'))
    expect(answer.status).toBe(200)
    expect(answer.json.seen.bytes).toBe(LIMIT)
  })
})
