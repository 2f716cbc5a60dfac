import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { AUDIT_LINES } from '@apiward/audit-log'
import { describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('../../', import.meta.url))
const EVENT = /^[a-z_]+\.[a-z_]+$/

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return sources(path)
    return name.endsWith('.ts') ? [path] : []
  })
}

const files = readdirSync(join(root, 'packages')).flatMap((pkg) => {
  try {
    return sources(join(root, 'packages', pkg, 'src'))
  } catch {
    return []
  }
})

/** Lines of code, without TSDoc and comments (their examples name events no one emits). */
const codeLines = (file: string) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => !/^\s*(\*|\/\/|\/\*)/.test(line))

/** Event types passed to `emit('...')` or `report('...')` in the packages' sources. */
const emitted = new Set(
  files.flatMap((file) =>
    codeLines(file).flatMap((line) =>
      [...line.matchAll(/\b(?:emit|report)\(\s*'([a-z_]+\.[a-z_]+)'/g)].map((m) => m[1]!),
    ),
  ),
)

/** Event types declared in an event map (core's `SecurityEventMap` or a package's merged map). */
const declared = new Set(
  files
    .filter((file) => /interface \w*EventMap\b/.test(readFileSync(file, 'utf8')))
    .flatMap((file) => {
      const text = readFileSync(file, 'utf8')
      return [...text.matchAll(/interface \w*EventMap\b[^{]*\{([\s\S]*?)\n\}/g)].flatMap(([, body]) =>
        [...body!.matchAll(/^ {2}'([a-z_]+\.[a-z_]+)'\??:/gm)].map((m) => m[1]!),
      )
    }),
)

/** The first column of the first table under a heading of docs/audit-log.md. */
function documented(heading: string): string[] {
  const lines = readFileSync(join(root, 'docs', 'audit-log.md'), 'utf8').split('\n')
  const start = lines.indexOf(heading)
  expect(start).toBeGreaterThan(-1)
  const out: string[] = []
  let inTable = false
  for (const line of lines.slice(start + 1)) {
    if (line.startsWith('#') || (inTable && !line.startsWith('|'))) break
    inTable ||= line.startsWith('|')
    const cell = /^\| `([^`]+)` \|/.exec(line)
    if (cell !== null && EVENT.test(cell[1]!)) out.push(cell[1]!)
  }
  return out
}

describe('the events list of docs/audit-log.md', () => {
  const events = documented('## Events')

  it('finds the emitters and declarations it checks against', () => {
    expect(emitted.size).toBeGreaterThan(10)
    expect(declared).toContain('request.completed')
    expect(declared).toContain('auth.success')
  })

  it('lists every event type a package declares or emits', () => {
    const missing = [...new Set([...declared, ...emitted])].filter((type) => !events.includes(type)).sort()
    expect(missing).toEqual([])
  })

  it('lists no event type that no package declares', () => {
    expect(events.filter((type) => !declared.has(type))).toEqual([])
  })

  it('has every emitted event declared, so listeners can narrow on it', () => {
    expect([...emitted].filter((type) => !declared.has(type))).toEqual([])
  })

  it("lists the log's own lines", () => {
    const own = readFileSync(join(root, 'docs', 'audit-log.md'), 'utf8')
    for (const line of AUDIT_LINES) expect(own).toContain(`| \`${line}\` |`)
  })
})
