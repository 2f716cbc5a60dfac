import { PassThrough } from 'node:stream'
import { readRawBody } from '@apiward/core/adapter'
import { describe, expect, it } from 'vitest'
import { testContext } from './support.js'

describe('readRawBody', () => {
  it('concatenates the chunks of a body within the limit', async () => {
    const stream = new PassThrough()
    const read = readRawBody(stream, undefined, 10)
    stream.write('abc')
    stream.end('def')
    expect(new TextDecoder().decode(await read)).toBe('abcdef')
  })

  it('refuses a declared length over the limit without reading', async () => {
    const stream = new PassThrough()
    await expect(readRawBody(stream, '11', 10)).rejects.toMatchObject({
      status: 413,
      code: 'request.body_too_large',
    })
    expect(stream.listenerCount('data')).toBe(0)
  })

  it('stops at the chunk that passes the limit and buffers nothing more', async () => {
    const stream = new PassThrough()
    const read = readRawBody(stream, undefined, 5)
    stream.write('abcd')
    stream.write('efgh')
    await expect(read).rejects.toMatchObject({ status: 413, headers: { Connection: 'close' } })
    expect(stream.listenerCount('data')).toBe(0)
    expect(stream.isPaused()).toBe(true)
  })

  it('answers a stream that fails or closes early with a 400', async () => {
    const failing = new PassThrough()
    const read = readRawBody(failing, undefined, 100)
    failing.destroy(new Error('reset'))
    await expect(read).rejects.toMatchObject({ status: 400, code: 'request.aborted' })
  })

  it('names the fix when a parser already read the body', async () => {
    const spent = new PassThrough()
    spent.end()
    spent.resume()
    await new Promise((r) => spent.once('end', r))
    await expect(readRawBody(spent, undefined, 10)).rejects.toThrow(/before it/)
  })
})

describe('SecurityContext.readBody', () => {
  it('refuses a limit that is not a number of bytes', async () => {
    await expect(testContext().readBody(-1)).rejects.toThrow(TypeError)
    await expect(testContext().readBody(1.5)).rejects.toThrow(/number of bytes/)
  })
})
