import { createServer, type Server, type ServerOptions } from 'node:http'
import { type AddressInfo, connect } from 'node:net'
import type { Duplex } from 'node:stream'
import { type ClientErrorOptions, handleClientErrors } from '@apiward/core/adapter'
import { afterEach, describe, expect, it, vi } from 'vitest'

interface RawAnswer {
  status: number
  headers: Record<string, string>
  json: any
}

/** Writes raw bytes on a fresh connection and parses whatever the server wrote before closing. */
function sendRaw(server: Server, bytes: string): Promise<RawAnswer> {
  const { port } = server.address() as AddressInfo
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(bytes))
    let text = ''
    socket.on('data', (chunk) => {
      text += chunk.toString('latin1')
    })
    // The server closes with unread bytes of ours pending, so a reset may follow its answer.
    socket.on('error', () => {})
    socket.on('close', () => {
      const [head = '', body = ''] = text.split('\r\n\r\n')
      const [statusLine = '', ...lines] = head.split('\r\n')
      const headers: Record<string, string> = {}
      for (const line of lines) {
        const colon = line.indexOf(':')
        headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim()
      }
      resolve({
        status: Number(statusLine.split(' ')[1]),
        headers,
        json: body ? JSON.parse(body) : undefined,
      })
    })
  })
}

const servers: Server[] = []
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections()
    await new Promise((done) => server.close(done))
  }
})

async function serve(options: ServerOptions = {}, handling: ClientErrorOptions = {}): Promise<Server> {
  const server = createServer(options, (_req, res) => res.end('ok'))
  handleClientErrors(server, handling)
  servers.push(server)
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
  return server
}

function fakeSocket(overrides: Partial<Record<'writable' | '_httpMessage', unknown>> = {}) {
  return {
    writable: true,
    write: vi.fn(),
    destroy: vi.fn(),
    ...overrides,
  }
}

function listenerOf(server: Server): (err: Error, socket: Duplex) => void {
  return server.listeners('clientError')[0] as (err: Error, socket: Duplex) => void
}

describe('handleClientErrors', () => {
  it('answers a malformed request line with a 400 problem that closes the connection', async () => {
    const server = await serve()
    const answer = await sendRaw(server, 'GET /x HTTX/1.1\r\nHost: x\r\n\r\n')
    expect(answer.status).toBe(400)
    expect(answer.headers['content-type']).toBe('application/problem+json; charset=utf-8')
    expect(answer.headers.connection).toBe('close')
    expect(answer.json).toMatchObject({ status: 400, code: 'request.malformed', title: 'Bad Request' })
    expect(answer.headers['x-request-id']).toBe(answer.json.requestId)
    expect(Number(answer.headers['content-length'])).toBe(JSON.stringify(answer.json).length)
  })

  it('answers headers over maxHeaderSize with a 431 problem', async () => {
    const server = await serve({ maxHeaderSize: 1024 })
    const answer = await sendRaw(server, `GET /x HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`)
    expect(answer.status).toBe(431)
    expect(answer.json).toMatchObject({ status: 431, code: 'request.headers_too_large' })
  })

  it('answers a request that does not arrive in time with a 408 problem', async () => {
    const server = await serve({ headersTimeout: 200, requestTimeout: 200, connectionsCheckingInterval: 50 })
    const answer = await sendRaw(server, 'GET /x HTTP/1.1\r\nHost: x\r\n')
    expect(answer.status).toBe(408)
    expect(answer.json).toMatchObject({ status: 408, code: 'request.timeout' })
  })

  it('uses the problem type base and the request ID header it is given, or none', async () => {
    const server = await serve(
      {},
      { problemTypeBase: 'https://api.example.com/problems/', requestIdHeader: false },
    )
    const answer = await sendRaw(server, 'NOT HTTP\r\n\r\n')
    expect(answer.json.type).toBe('https://api.example.com/problems/request.malformed')
    expect(answer.headers['x-request-id']).toBeUndefined()
    const renamed = await serve({}, { requestIdHeader: 'X-Correlation-Id' })
    const other = await sendRaw(renamed, 'NOT HTTP\r\n\r\n')
    expect(other.headers['x-correlation-id']).toBe(other.json.requestId)
  })

  it('only destroys a connection the client reset', async () => {
    const server = await serve()
    const socket = fakeSocket()
    listenerOf(server)(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }), socket as never)
    expect(socket.write).not.toHaveBeenCalled()
    expect(socket.destroy).toHaveBeenCalledOnce()
  })

  it('writes nothing on a socket that is not writable or whose response started', async () => {
    const server = await serve()
    const parseError = Object.assign(new Error('Parse Error'), { code: 'HPE_INVALID_METHOD' })
    const closed = fakeSocket({ writable: false })
    const answering = fakeSocket({ _httpMessage: { headersSent: true } })
    listenerOf(server)(parseError, closed as never)
    listenerOf(server)(parseError, answering as never)
    expect(closed.write).not.toHaveBeenCalled()
    expect(answering.write).not.toHaveBeenCalled()
    expect(closed.destroy).toHaveBeenCalledOnce()
    expect(answering.destroy).toHaveBeenCalledOnce()
  })

  it('never throws, even when writing fails', async () => {
    const server = await serve()
    const socket = fakeSocket()
    socket.write.mockImplementation(() => {
      throw new Error('write after end')
    })
    const timeout = Object.assign(new Error('timeout'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' })
    expect(() => listenerOf(server)(timeout, socket as never)).not.toThrow()
    expect(socket.destroy).toHaveBeenCalledOnce()
  })

  it('installs one listener however often it is called on a server', () => {
    const server = createServer()
    handleClientErrors(server)
    handleClientErrors(server)
    expect(server.listenerCount('clientError')).toBe(1)
  })

  it('refuses options it cannot use with a TypeError naming the option', () => {
    expect(() => handleClientErrors(createServer(), { requestIdHeader: 'bad header' })).toThrow(
      /handleClientErrors\(\): requestIdHeader/,
    )
    expect(() => handleClientErrors(createServer(), { problemTypeBase: 42 as never })).toThrow(TypeError)
  })
})
