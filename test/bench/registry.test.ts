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
  limit?: { work?: unknown; about?: string }
  limitOf?: string
  peerOf?: string
  headers?: string[]
  budget?: { instructions: number; base?: string; label: string }
}

describe('the bench stack registry', async () => {
  const { STACKS, FRAMEWORKS } = (await import(registry)) as { STACKS: Stack[]; FRAMEWORKS: string[] }
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
})
