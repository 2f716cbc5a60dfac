import { existsSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'

const page = new URL('../../docs/owasp.md', import.meta.url)
const markdown = readFileSync(page, 'utf8')

interface Row {
  risk: string
  files: string[]
  names: string[]
}

/** The table's rows: the risk, the files its last cell links, the test names it quotes. */
function rows(): Row[] {
  return markdown
    .split('\n')
    .filter((line) => line.startsWith('| **API'))
    .map((line) => {
      const cells = line.split(' | ')
      const proof = cells.at(-1) ?? ''
      return {
        risk: /\*\*(API\d+)/.exec(line)?.[1] ?? line,
        files: [...proof.matchAll(/\]\(([^)]+)\)/g)].map((match) => match[1] ?? ''),
        names: [...proof.matchAll(/"([^"]+)"/g)].map((match) => match[1] ?? ''),
      }
    })
}

describe('the OWASP API Security Top 10 page', () => {
  it('has one row for each of the ten risks, in order', () => {
    expect(rows().map((row) => row.risk)).toEqual(Array.from({ length: 10 }, (_, i) => `API${i + 1}`))
  })

  it.each(rows())('links $risk to test files that exist', ({ files }) => {
    expect(files.length).toBeGreaterThan(0)
    for (const file of files) {
      expect(file, file).toMatch(/\.test\.ts$/)
      expect(existsSync(new URL(file, page)), file).toBe(true)
    }
  })

  it.each(rows())('quotes for $risk test names that occur in the files it links', ({ files, names }) => {
    expect(names.length).toBeGreaterThan(0)
    const sources = files.map((file) => readFileSync(new URL(file, page), 'utf8'))
    for (const name of names) {
      const quoted = [`'${name}'`, `"${name}"`, `\`${name}\``]
      expect(
        sources.some((source) => quoted.some((q) => source.includes(q))),
        name,
      ).toBe(true)
    }
  })
})
