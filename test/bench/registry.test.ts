import { readdirSync } from 'node:fs'
import { describe, expect, it } from 'vitest'

// The bench's stack registry is plain JavaScript that the runners import; loaded through a URL so
// its shape is checked here, where a package adding rows would break it.
const registry: string = new URL('./stacks.mjs', import.meta.url).href

interface Stack {
  name: string
  package: string
  about: string
  apiward?: boolean
  guards?: unknown
  install?: Record<string, unknown>
  frameworks?: string[]
  limit?: { work?: unknown; about?: string; readsIp?: boolean; readsParams?: boolean }
  limitOf?: string
  route?: string
  path?: string
  body?: unknown
  strictRouting?: boolean
  readsParams?: boolean
  readsIp?: boolean
  peerOf?: string
  headers?: string[]
  budget?: { instructions: number; base?: string; label: string }
}

describe('the bench stack registry', async () => {
  const { STACKS, FRAMEWORKS, ROUTE, PATH, BODY, routeOf } = (await import(registry)) as {
    STACKS: Stack[]
    FRAMEWORKS: string[]
    ROUTE: string
    PATH: string
    BODY: unknown
    routeOf: (stack: Stack | undefined) => { route: string; path: string; body: unknown }
  }
  const byName = new Map(STACKS.map((s) => [s.name, s]))

  it('loads the stacks of every file in test/bench/stacks, each tagged with its package', () => {
    const files = readdirSync(new URL('./stacks/', import.meta.url)).filter((f) => f.endsWith('.mjs'))
    expect(files.length).toBeGreaterThan(0)
    for (const file of files) {
      expect(
        STACKS.some((s) => s.package === file.replace(/\.mjs$/, '')),
        file,
      ).toBe(true)
    }
  })

  it('describes every stack and says how each is built', () => {
    for (const stack of STACKS) {
      expect(stack.about.length, stack.name).toBeGreaterThan(10)
      const kinds = [stack.apiward === true, stack.install !== undefined, stack.limitOf !== undefined]
      if (stack.package !== 'framework') expect(kinds.filter(Boolean), stack.name).toHaveLength(1)
      if (stack.apiward) expect(typeof stack.guards, stack.name).toBe('function')
      for (const fw of stack.frameworks ?? []) expect(FRAMEWORKS, stack.name).toContain(fw)
    }
  })

  it('gives every stack with a limit its limit row, and every limit the headers of its stack to copy', () => {
    for (const stack of STACKS.filter((s) => s.limit)) {
      const limit = byName.get(`limit-${stack.name}`)
      expect(limit?.limitOf).toBe(stack.name)
      expect(Array.isArray(stack.headers), `${stack.name} lists the headers it promises`).toBe(true)
    }
  })

  it('compares every peer and every budget with stacks that exist and have limits', () => {
    for (const stack of STACKS) {
      if (stack.peerOf) expect(byName.get(stack.peerOf)?.apiward, stack.name).toBe(true)
      if (stack.budget) {
        expect(stack.limit, `${stack.name} has a budget, so it needs a limit`).toBeDefined()
        expect(stack.budget.instructions).toBeGreaterThan(0)
        if (stack.budget.base) expect(byName.get(stack.budget.base)?.limit, stack.name).toBeDefined()
      }
    }
  })

  it('answers the default route, request and body for a stack that names none', () => {
    expect(routeOf(byName.get('bare'))).toEqual({ route: ROUTE, path: PATH, body: BODY })
    expect(routeOf(byName.get('bare')).route).toBe('/hello')
  })

  it('sends to every stack a request its own route matches, and answers it with a JSON body', () => {
    for (const stack of STACKS) {
      const { route, path, body } = routeOf(stack)
      expect(route, stack.name).toMatch(/^\//)
      const pattern = new RegExp(`^${route.replace(/:[A-Za-z]+/g, '[^/]+')}$`)
      expect(path.split('?')[0], `${stack.name} sends a path its route ${route} matches`).toMatch(pattern)
      expect(JSON.parse(JSON.stringify(body)), stack.name).toEqual(body)
      if (stack.strictRouting !== undefined) expect(typeof stack.strictRouting, stack.name).toBe('boolean')
    }
  })

  it('gives every limit the route, request, body and routing of its stack', () => {
    for (const stack of STACKS.filter((s) => s.limit)) {
      const limit = byName.get(`limit-${stack.name}`)
      expect(limit, stack.name).toBeDefined()
      expect(routeOf(limit), stack.name).toEqual(routeOf(stack))
      expect(limit?.strictRouting, stack.name).toBe(stack.strictRouting)
      expect(limit?.readsParams, stack.name).toBe(stack.limit?.readsParams)
    }
  })

  it('hands route parameters only to the limits whose route has some', () => {
    for (const stack of STACKS.filter((s) => s.limit?.readsParams)) {
      expect(routeOf(stack).route, stack.name).toContain('/:')
      expect(typeof stack.limit?.work, `${stack.name} reads parameters, so its limit does work`).toBe(
        'function',
      )
    }
  })

  it("runs the reference API's full stack on every framework, against its limit and a popular peer on each", () => {
    const reference = byName.get('reference')
    expect(reference?.apiward).toBe(true)
    expect(reference?.frameworks).toBeUndefined()
    expect(routeOf(reference)).toMatchObject({ route: '/notes/:id', path: '/notes/n1' })
    expect(reference?.budget).toMatchObject({ instructions: 20000 })
    expect(reference?.budget?.base).toBeUndefined()
    expect(byName.get('limit-reference')?.readsIp).toBe(true)
    for (const fw of FRAMEWORKS) {
      const peers = STACKS.filter(
        (s) => s.peerOf === 'reference' && (s.frameworks ?? FRAMEWORKS).includes(fw),
      )
      expect(peers, fw).toHaveLength(1)
      expect(routeOf(peers[0]), fw).toEqual(routeOf(reference))
    }
  })
})
