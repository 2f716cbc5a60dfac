// A plain node:http route answering the same body, with 0, 1 or 3 more response headers: the
// reference `pnpm bench:instructions` measures what one response header costs Node itself.
import { BODY } from '../stacks.mjs'

export const version = process.versions.node

const payload = JSON.stringify(BODY)
const length = String(Buffer.byteLength(payload))
const EXTRA = {
  bare: [],
  'header-1': [['x-request-id', 'e3b0c442-98fc-4c14-9afb-000000000001']],
  'header-3': [
    ['x-request-id', 'e3b0c442-98fc-4c14-9afb-000000000001'],
    ['ratelimit-policy', '"default";q=1000000000;w=60'],
    ['ratelimit', '"default";r=999999999;t=60'],
  ],
}

export async function build(stack) {
  const extra = EXTRA[stack]
  if (extra === undefined) throw new Error(`node: no stack ${stack}`)
  return (_req, res) => {
    res.statusCode = 200
    res.setHeader('content-type', 'application/json; charset=utf-8')
    res.setHeader('content-length', length)
    for (const [name, value] of extra) res.setHeader(name, value)
    res.end(payload)
  }
}
