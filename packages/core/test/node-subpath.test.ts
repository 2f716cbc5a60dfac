import { readdirSync, readFileSync } from 'node:fs'
import type { IncomingMessage } from 'node:http'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as core from '@apiward/core'
import { FOLDING_ROUTER } from '@apiward/core'
import { NodeSecurityRequest, tlsInfo } from '@apiward/core/node'
import { describe, expect, it } from 'vitest'

class PlainRequest extends NodeSecurityRequest {
  route = undefined
  protected frameworkIp = '127.0.0.1'
  query = {}
  params = {}
  body = undefined
  routing = FOLDING_ROUTER
  protected frameworkProtocol = 'http'
  protected frameworkHost: string | undefined = undefined
}

const incoming = (socket: object) =>
  ({ method: 'GET', url: '/x', headers: {}, rawHeaders: [], socket }) as unknown as IncomingMessage

/** Every module of a source folder and its subfolders. */
function modules(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? modules(join(dir, entry.name))
      : entry.name.endsWith('.ts')
        ? [join(dir, entry.name)]
        : [],
  )
}

describe('@apiward/core/node', () => {
  it('holds the Node request view, which the main entry no longer exports', () => {
    expect(typeof NodeSecurityRequest).toBe('function')
    expect('NodeSecurityRequest' in core).toBe(false)
  })

  it('gives the peer address of the socket in the spelling of ip', () => {
    expect(new PlainRequest(incoming({ remoteAddress: '::ffff:192.0.2.7' })).peerAddress).toBe('192.0.2.7')
    expect(new PlainRequest(incoming({})).peerAddress).toBeUndefined()
  })

  it('reads only headers the request has, never what a plain headers object inherits', () => {
    // Node's own headers object has Object.prototype, as this one does.
    const request = new PlainRequest({
      ...incoming({}),
      headers: { 'x-one': 'a', 'x-two': ['b', 'c'] },
    } as unknown as IncomingMessage)
    expect(request.header('x-one')).toBe('a')
    expect(request.header('x-two')).toBe('b, c')
    for (const name of ['constructor', '__proto__', 'tostring', 'toString', 'hasOwnProperty'])
      expect(request.header(name)).toBeUndefined()
  })

  it('reads no TLS facts from a plain socket, and the peer certificate from a TLS one', () => {
    expect(tlsInfo({ encrypted: undefined })).toBeUndefined()
    const peer = { subject: { CN: 'client' } }
    const info = tlsInfo({
      encrypted: true,
      authorized: false,
      authorizationError: 'CERT_HAS_EXPIRED',
      getPeerCertificate: () => peer,
    })
    expect(info).toEqual({ authorized: false, authorizationError: 'CERT_HAS_EXPIRED', peerCertificate: peer })
  })
})

/** `import`/`export ... from 'node:...'` statements that are not type-only, multi-line ones included. */
const RUNTIME_NODE_IMPORT = /^(?:(?:import|export)\s+(?!type\s)[^'"]*?from\s+|import\s+)['"]node:[^'"]+['"]/gm

describe('the runtime-neutral packages', () => {
  const root = fileURLToPath(new URL('../..', import.meta.url))

  it('are checked by a pattern that finds runtime imports and passes type-only ones', () => {
    const found = (text: string) => text.match(RUNTIME_NODE_IMPORT) ?? []
    expect(found("import { hash } from 'node:crypto'")).toHaveLength(1)
    expect(found("import {\n  createHash,\n  type Hash,\n} from 'node:crypto'")).toHaveLength(1)
    expect(found("import 'node:process'")).toHaveLength(1)
    expect(found("import type { IncomingMessage } from 'node:http'")).toHaveLength(0)
    expect(found("export type { IncomingHttpHeaders } from 'node:http'")).toHaveLength(0)
  })

  it.each(['core/src', 'errors/src'])('import no node: module at run time in packages/%s', (folder) => {
    const files = modules(join(root, folder))
    expect(files.length).toBeGreaterThan(3)
    for (const file of files) expect(readFileSync(file, 'utf8').match(RUNTIME_NODE_IMPORT), file).toBeNull()
  })
})
