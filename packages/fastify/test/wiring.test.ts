import { configureWarnings, resetWarnings } from '@apiward/core'
import { apiward, guard } from '@apiward/fastify'
import fastify5 from 'fastify'
import fastify4 from 'fastify4'
import { afterEach, describe, expect, it, vi } from 'vitest'

afterEach(() => {
  vi.restoreAllMocks()
  configureWarnings()
  resetWarnings()
})

/** Routes warnings to a spy: `(code, message, docs)` per warning. */
function watchWarnings() {
  const logger = vi.fn()
  configureWarnings({ logger })
  return logger
}

describe.each([
  ['fastify 5', fastify5],
  ['fastify 4', fastify4 as unknown as typeof fastify5],
])('%s', (_name, factory) => {
  it('refuses route options whose own onRequest replaced the hooks of a guard()', async () => {
    const app = factory()
    await app.register(apiward)
    const mine = (_request: unknown, _reply: unknown, done: () => void) => done()
    expect(() => app.get('/notes', { ...guard(() => {}), onRequest: [mine] }, async () => 'x')).toThrow(
      /GET \/notes: a later spread or property replaced the onRequest hooks of a guard\(\)/,
    )
    await app.close()
  })

  it('replaces only the client error answer of Fastify itself, keeping a clientErrorHandler of the user', async () => {
    const plain = factory()
    await plain.register(apiward)
    const [installed] = plain.server.listeners('clientError')
    expect(plain.server.listenerCount('clientError')).toBe(1)
    expect(installed?.name).not.toMatch(/defaultClientErrorHandler/)

    const own = factory({
      clientErrorHandler: function ownClientErrors(_err, socket) {
        socket.destroy()
      },
    })
    await own.register(apiward)
    expect(own.server.listeners('clientError').map((l) => l.name)).toEqual(['bound ownClientErrors'])
    await Promise.all([plain.close(), own.close()])
  })

  it('warns once that guards on an app without the plugin go unchecked', async () => {
    const warned = watchWarnings()
    const app = factory()
    app.get('/a', { ...guard(() => {}) }, async () => 'a')
    app.get('/b', { ...guard(() => {}) }, async () => 'b')
    await app.inject('/a')
    await app.inject('/b')
    await app.inject('/a')
    const ours = warned.mock.calls.filter(([code]) => code === 'APIWARD_FASTIFY_NO_PLUGIN')
    expect(ours).toHaveLength(1)
    expect(String(ours[0]?.[1])).toMatch(/without the apiward plugin/)
    await app.close()
  })

  it('does not warn where the plugin is registered, also for routes of child plugins', async () => {
    const warned = watchWarnings()
    const app = factory()
    await app.register(apiward)
    await app.register(async (scope) => {
      scope.get('/child', { ...guard(() => {}) }, async () => 'child')
    })
    expect((await app.inject('/child')).statusCode).toBe(200)
    const codes = warned.mock.calls.map(([code]) => code)
    expect(codes).not.toContain('APIWARD_FASTIFY_NO_PLUGIN')
    await app.close()
  })
})
