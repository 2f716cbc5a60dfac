import { request as httpRequest } from 'node:http'

export interface SendOptions {
  method?: string
  /** Header pairs; a name may repeat (two `Authorization` headers). */
  headers?: Record<string, string> | Array<[string, string]>
  body?: string | Buffer
  /**
   * The request target, written to the request line exactly as given (an absolute-form
   * `http://other.host/path`, odd spellings). Default: the URL's path and query.
   */
  target?: string
  /** Abort the request after this many milliseconds without waiting for the answer. */
  abortAfterMs?: number
}

export interface Answer {
  status: number
  headers: Record<string, string | string[] | undefined>
  text: string
  /** The body parsed as JSON, `undefined` when it is not JSON. */
  json: any
}

/** One HTTP request over a fresh connection, with full control of the headers sent. */
export function send(url: string, options: SendOptions = {}): Promise<Answer> {
  const target = new URL(url)
  const pairs = Array.isArray(options.headers) ? options.headers : Object.entries(options.headers ?? {})
  const flat: string[] = []
  if (!pairs.some(([n]) => n.toLowerCase() === 'host')) flat.push('Host', target.host)
  for (const [name, value] of pairs) flat.push(name, value)
  if (options.body !== undefined && !pairs.some(([n]) => n.toLowerCase() === 'content-length')) {
    flat.push('Content-Length', String(Buffer.byteLength(options.body)))
  }
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        path: options.target ?? target.pathname + target.search,
        method: options.method ?? 'GET',
        headers: flat,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8')
          let json: unknown
          try {
            json = text === '' ? undefined : JSON.parse(text)
          } catch {
            json = undefined
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json })
        })
        res.on('error', reject)
      },
    )
    req.on('error', reject)
    if (options.abortAfterMs !== undefined) {
      setTimeout(() => {
        req.destroy()
        resolve({ status: 0, headers: {}, text: '', json: undefined })
      }, options.abortAfterMs)
    }
    if (options.body !== undefined) req.write(options.body)
    req.end()
  })
}

/** Raw request path sender: the path is written to the socket as given (no URL normalisation). */
export function sendRawPath(base: string, path: string, options: SendOptions = {}): Promise<Answer> {
  return send(base + path, options)
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Waits until `check` returns true or the time is up. */
export async function eventually(check: () => boolean, timeoutMs = 2000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not reached in time')
    await sleep(10)
  }
}
