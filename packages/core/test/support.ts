import type { IncomingMessage } from 'node:http'
import { FOLDING_ROUTER, type ResponseBinding, SecurityContext, type SecurityEventBus } from '@apiward/core'
import { NodeSecurityRequest } from '@apiward/core/adapter'

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

export interface RecordingBinding extends ResponseBinding {
  headers: Record<string, string>
  intercepts: number
  watches: number
}

export function fakeIncoming(url = '/x', headers: Record<string, string | string[]> = {}): IncomingMessage {
  const rawHeaders: string[] = []
  for (const [k, v] of Object.entries(headers))
    for (const value of Array.isArray(v) ? v : [v]) rawHeaders.push(k, value)
  return { method: 'GET', url, headers, rawHeaders, socket: {} } as unknown as IncomingMessage
}

/** A context over a plain object request, recording what it asks of the response. */
export function testContext(
  options: { url?: string; headers?: Record<string, string | string[]>; events?: SecurityEventBus } = {},
): SecurityContext & { binding: RecordingBinding } {
  const binding: RecordingBinding = {
    headers: {},
    intercepts: 0,
    watches: 0,
    setHeader(name, value) {
      this.headers[name] = value
    },
    removeHeader(name) {
      delete this.headers[name]
    },
    hookSendHeaders() {},
    interceptSend() {
      this.intercepts++
    },
    watchFinish() {
      this.watches++
    },
  }
  const ctx = new SecurityContext(new PlainRequest(fakeIncoming(options.url, options.headers)), binding, {
    requestId: 'req-1',
    events: options.events,
  })
  return Object.assign(ctx, { binding })
}

declare module '@apiward/core' {
  /** Events the core tests emit: core itself declares only the `server.*` ones. */
  interface SecurityEventMap {
    'test.happened': { n?: number }
    'test.reloaded': { policyVersion: number }
  }
}
