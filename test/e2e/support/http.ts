import { request as httpRequest } from 'node:http'
import { Socket } from 'node:net'

/** One request of the suite: full control of the target, the headers and the client address. */
export interface Call {
  method?: string
  /** The request target, written to the request line exactly as given. */
  path: string
  headers?: Record<string, string>
  body?: string | Buffer
  /** The loopback address the request comes from (`127.0.0.1` unless given). */
  from?: string
  /** The answer must come within this many milliseconds (a hang fails the test). Default 5000. */
  timeoutMs?: number
}

/** What came back. */
export interface Answer {
  status: number
  headers: Record<string, string | string[] | undefined>
  text: string
  /** The body parsed as JSON, `undefined` when it is not JSON. */
  json: any
  /** A header as one string (repeated headers joined by `, `), `undefined` when absent. */
  header(name: string): string | undefined
}

function answer(status: number, headers: Answer['headers'], text: string): Answer {
  let json: unknown
  try {
    json = text === '' ? undefined : JSON.parse(text)
  } catch {
    json = undefined
  }
  return {
    status,
    headers,
    text,
    json,
    header(name) {
      const value = headers[name.toLowerCase()]
      return Array.isArray(value) ? value.join(', ') : value
    },
  }
}

/** Sends one request over a fresh connection to `127.0.0.1:port`. */
export function send(port: number, call: Call): Promise<Answer> {
  const headers: Record<string, string> = { ...call.headers }
  if (call.body !== undefined && !Object.keys(headers).some((n) => n.toLowerCase() === 'content-length'))
    headers['Content-Length'] = String(Buffer.byteLength(call.body))
  const timeoutMs = call.timeoutMs ?? 5000
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        localAddress: call.from ?? '127.0.0.1',
        path: call.path,
        method: call.method ?? 'GET',
        headers,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          clearTimeout(timer)
          resolve(answer(res.statusCode ?? 0, res.headers, Buffer.concat(chunks).toString('utf8')))
        })
        res.on('error', reject)
      },
    )
    const timer = setTimeout(() => {
      req.destroy(new Error(`no answer within ${timeoutMs} ms to ${call.method ?? 'GET'} ${call.path}`))
    }, timeoutMs)
    req.on('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
    req.end(call.body)
  })
}

/** Writes raw bytes on a fresh connection and returns the status line's code (0 if none). */
export function sendRaw(port: number, bytes: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const socket = new Socket()
    const chunks: Buffer[] = []
    const timer = setTimeout(() => socket.destroy(new Error('no answer to a raw request')), 5000)
    socket.on('data', (c: Buffer) => {
      chunks.push(c)
      if (Buffer.concat(chunks).includes('\r\n\r\n')) socket.end()
    })
    socket.on('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
    socket.on('close', () => {
      clearTimeout(timer)
      const text = Buffer.concat(chunks).toString('latin1')
      const match = /^HTTP\/1\.[01] (\d{3})/.exec(text)
      resolve({ status: match ? Number(match[1]) : 0, text })
    })
    socket.connect(port, '127.0.0.1', () => socket.write(bytes))
  })
}

let nextHost = 1
/**
 * A loopback address no other test of this process uses: each test gets its own per-IP budget
 * and brute-force counters (Linux answers on the whole of 127.0.0.0/8).
 */
export function freshAddress(): string {
  const n = nextHost++
  return `127.20.${Math.floor(n / 250)}.${(n % 250) + 1}`
}
