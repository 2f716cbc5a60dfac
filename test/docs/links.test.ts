import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const inDir = (dir: string) =>
  readdirSync(join(root, dir))
    .filter((name) => name.endsWith('.md'))
    .map((name) => join(dir, name))

// The guides that link across the docs: getting started, recipes, migrating, the OWASP table,
// the architecture page and the root README's index.
const pages = [
  'README.md',
  'docs/architecture.md',
  'docs/owasp.md',
  ...inDir('docs/getting-started'),
  ...inDir('docs/recipes'),
  ...inDir('docs/migrating'),
]

/** GitHub's anchors of a page's headings: lower case, punctuation dropped, `-1`, `-2` for repeats. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>()
  const seen = new Map<string, number>()
  for (const line of markdown.split('\n')) {
    const heading = /^#{1,6} (.+)$/.exec(line)
    if (heading === null) continue
    const slug = heading[1]!
      .toLowerCase()
      .replace(/[^\p{L}\p{N} _-]/gu, '')
      .replace(/ /g, '-')
    const repeat = seen.get(slug) ?? 0
    seen.set(slug, repeat + 1)
    anchors.add(repeat === 0 ? slug : `${slug}-${repeat}`)
  }
  return anchors
}

/** The relative link targets of a page, outside code blocks. */
function linksOf(markdown: string): string[] {
  const prose = markdown.replace(/^```[\s\S]*?^```/gm, '')
  return [...prose.matchAll(/\]\(([^)\s]+)\)/g)]
    .map((match) => match[1]!)
    .filter((target) => !/^[a-z]+:/.test(target))
}

describe('the links of the guides', () => {
  it('covers the four getting-started pages, four recipes and the migration index', () => {
    expect(inDir('docs/getting-started').map((page) => page.split('/').pop())).toEqual(
      expect.arrayContaining(['express.md', 'koa.md', 'fastify.md', 'hono.md']),
    )
    expect(inDir('docs/recipes')).toHaveLength(4)
    expect(inDir('docs/migrating').length).toBeGreaterThan(0)
  })

  it.each(pages)('%s links only to files and headings that exist', (page) => {
    const markdown = readFileSync(join(root, page), 'utf8')
    const broken: string[] = []
    for (const link of linksOf(markdown)) {
      const [path = '', anchor] = link.split('#')
      const target = path === '' ? join(root, page) : join(root, dirname(page), path)
      if (!existsSync(target)) {
        broken.push(`${link}: no ${relative(root, target)}`)
        continue
      }
      if (anchor === undefined) continue
      if (statSync(target).isDirectory() || !target.endsWith('.md')) {
        broken.push(`${link}: an anchor into something that is not a page`)
      } else if (!anchorsOf(readFileSync(target, 'utf8')).has(anchor)) {
        broken.push(`${link}: ${relative(root, target)} has no heading #${anchor}`)
      }
    }
    expect(broken).toEqual([])
  })
})
