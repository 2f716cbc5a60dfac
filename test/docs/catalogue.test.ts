import { readFileSync } from 'node:fs'
import { AUTH_CODES } from '@apiward/auth'
import { AUTHZ_CODES } from '@apiward/authz'
import { ERROR_CODES } from '@apiward/errors'
import { HEADERS_CODES } from '@apiward/headers'
import { RATELIMIT_CODES } from '@apiward/ratelimit'
import { VALIDATE_CODES } from '@apiward/validate'
import { describe, expect, it } from 'vitest'

const docs = new URL('../../docs/', import.meta.url)
const read = (page: string) => readFileSync(new URL(page, docs), 'utf8')

/** GitHub's anchors of a page's headings: lower case, punctuation dropped, `-1`, `-2` for repeats. */
function anchorsOf(markdown: string): Map<string, number> {
  const anchors = new Map<string, number>()
  const seen = new Map<string, number>()
  markdown.split('\n').forEach((line, index) => {
    const heading = /^#{1,6} (.+)$/.exec(line)
    if (heading === null) return
    const slug = heading[1]!
      .toLowerCase()
      .replace(/[^\p{L}\p{N} _-]/gu, '')
      .replace(/ /g, '-')
    const repeat = seen.get(slug) ?? 0
    seen.set(slug, repeat + 1)
    anchors.set(repeat === 0 ? slug : `${slug}-${repeat}`, index)
  })
  return anchors
}

/** The codes in the `code` column of the first table after line `from`, before the next heading. */
function codesOfTableAfter(lines: readonly string[], from: number): string[] {
  let column = -1
  const codes: string[] = []
  for (let i = from + 1; i < lines.length; i++) {
    const line = lines[i]!
    if (/^#{1,6} /.test(line)) break
    if (!line.startsWith('|')) {
      if (column !== -1) break
      continue
    }
    const cells = line.split('|').map((cell) => cell.trim())
    if (column === -1) {
      column = cells.indexOf('code')
      if (column === -1) throw new Error(`the table after line ${from + 1} has no "code" column`)
      continue
    }
    const code = /^`([a-z_]+\.[a-z_]+)`$/.exec(cells[column]!)
    if (code !== null) codes.push(code[1]!)
  }
  return codes
}

/** The codes of the tables under the headings that errors.md links to in `page`. */
function linkedCodes(page: string): string[] {
  const catalogue = read('errors.md')
  const target = read(page)
  const anchors = anchorsOf(target)
  const lines = target.split('\n')
  const links = [...catalogue.matchAll(new RegExp(`\\]\\(${page.replace('.', '\\.')}#([a-z0-9-]+)\\)`, 'g'))]
  expect(links.length).toBeGreaterThan(0)
  return links.flatMap(([, anchor]) => {
    const line = anchors.get(anchor!)
    if (line === undefined) throw new Error(`errors.md links to ${page}#${anchor}, which has no such heading`)
    return codesOfTableAfter(lines, line)
  })
}

const sorted = (codes: Iterable<string>) => [...new Set(codes)].sort()

describe('the code catalogue (docs/errors.md)', () => {
  it('lists exactly the generic codes of ERROR_CODES', () => {
    const catalogue = read('errors.md')
    const line = anchorsOf(catalogue).get('generic-by-status')
    expect(line).toBeDefined()
    const listed = codesOfTableAfter(catalogue.split('\n'), line!)
    expect(listed).toHaveLength(new Set(listed).size)
    expect(sorted(listed)).toEqual(sorted(ERROR_CODES))
  })

  it('points to tables in auth.md that list exactly AUTH_CODES', () => {
    expect(sorted(linkedCodes('auth.md'))).toEqual(sorted(AUTH_CODES))
  })

  it('points to a table in ratelimit.md that lists exactly RATELIMIT_CODES', () => {
    expect(sorted(linkedCodes('ratelimit.md'))).toEqual(sorted(RATELIMIT_CODES))
  })

  it('points to a table in validate.md that lists exactly VALIDATE_CODES', () => {
    expect(sorted(linkedCodes('validate.md'))).toEqual(sorted(VALIDATE_CODES))
  })

  it('points to a table in authz.md that lists exactly AUTHZ_CODES', () => {
    expect(sorted(linkedCodes('authz.md'))).toEqual(sorted(AUTHZ_CODES))
  })

  it('points to a table in headers.md that lists exactly HEADERS_CODES', () => {
    expect(sorted(linkedCodes('headers.md'))).toEqual(sorted(HEADERS_CODES))
  })
})
