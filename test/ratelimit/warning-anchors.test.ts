import { readdirSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'

const root = new URL('../../', import.meta.url)
const read = (path: string) => readFileSync(new URL(path, root), 'utf8')

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces as dashes. */
const slug = (heading: string) =>
  heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-')

const anchorsOf = (page: string) =>
  new Set(
    read(`docs/${page}`)
      .split('\n')
      .flatMap((line) => /^#{1,6} (.+)$/.exec(line)?.[1] ?? [])
      .map(slug),
  )

const sources = [
  ...readdirSync(new URL('packages/ratelimit/src/', root)).map((f) => `packages/ratelimit/src/${f}`),
  'packages/core/src/adapter/placement.ts',
  'packages/express/src/error-handler.ts',
  'packages/koa/src/error-handler.ts',
]

describe('the docs anchors of rate-limit and placement warnings', () => {
  const links = sources.flatMap((file) =>
    [...read(file).matchAll(/'([a-z-]+\.md)#([a-z0-9-]+)'/g)].map(([, page, anchor]) => ({
      file,
      page: page!,
      anchor: anchor!,
    })),
  )

  it('finds the warnings that name a docs section', () => {
    expect(links.length).toBeGreaterThan(8)
  })

  it('names only sections that exist', () => {
    const missing = links.filter(({ page, anchor }) => !anchorsOf(page).has(anchor))
    expect(missing).toEqual([])
  })
})
