import { afterAll, beforeAll, describe, expect, it, type MockInstance, vi } from 'vitest'
import { send } from './client.js'
import type { RunningServer } from './harness.js'
import { harnesses } from './servers/index.js'

describe.each(harnesses)('$name adapter: a reporter of unexpected errors that throws', (harness) => {
  let server: RunningServer
  let stderr: MockInstance<typeof console.error>
  beforeAll(async () => {
    stderr = vi.spyOn(console, 'error').mockImplementation(() => {})
    server = await harness.start({
      onUnexpectedError: () => {
        throw new Error('the log shipper is down at /srv/app/logger.js:12:3')
      },
      routes: [
        {
          method: 'GET',
          path: '/throws',
          handler: () => {
            throw new Error('db password is hunter2')
          },
        },
      ],
    })
  })
  afterAll(async () => {
    await server.close()
    stderr.mockRestore()
  })

  it('still answers a bare problem+json 500 without a stack trace', async () => {
    const answer = await send(`${server.url}/throws`)
    expect(answer.status).toBe(500)
    expect(answer.headers['content-type']).toMatch(/^application\/problem\+json/)
    expect(answer.json).toMatchObject({ status: 500, code: 'server.internal' })
    expect(answer.text).not.toMatch(/hunter2|logger\.js|\bat .*:\d+:\d+/)
  })

  it('writes both errors to stderr', async () => {
    stderr.mockClear()
    await send(`${server.url}/throws`)
    const written = stderr.mock.calls.map((call) => String(call[0])).join('\n')
    expect(written).toMatch(/log shipper is down/)
    expect(written).toMatch(/hunter2/)
  })
})
