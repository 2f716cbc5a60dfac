// The log files of the bench's servers: a temp file per process, and pino's file destination
// buffered as the audit log's file sink is (4 KiB, synchronous writes), for the limits and peers.
import { hash, randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** A file in a temp directory of this server process, removed when it exits. */
export function benchFile(name) {
  const dir = mkdtempSync(join(tmpdir(), 'apiward-bench-log-'))
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }))
  return join(dir, `${name}-${process.pid}.log`)
}

/** pino's file destination (sonic-boom), 4 KiB buffer, synchronous writes, flushed on exit. */
export async function fileDestination(name) {
  const { pino } = await import('pino')
  const destination = pino.destination({ dest: benchFile(name), minLength: 4096, sync: true })
  process.once('exit', () => destination.flushSync())
  return destination
}

/** A pino logger to a file through that destination. */
export async function fileLogger(name, options = {}) {
  const { pino } = await import('pino')
  return pino(options, await fileDestination(name))
}

/**
 * A limit's audit lines by hand: each record's JSON with the chain fields the audit log adds
 * (`chain`, `n`, `prev`), its SHA-256 through `hash()`, written to pino's file destination as it
 * is (`logger.info()` would add pino's serialisation, which the audit log does not pay). `n` of
 * the first line is `firstN`.
 */
export async function chainedLines(name, firstN = 1) {
  const destination = await fileDestination(name)
  const chain = randomBytes(9).toString('base64url')
  let n = firstN - 1
  let prev = '0'.repeat(64)
  return (record) => {
    n++
    const canonical = `${JSON.stringify(record).slice(0, -1)},"chain":"${chain}","n":${n},"prev":"${prev}"`
    prev = hash('sha256', canonical, 'hex')
    destination.write(`${canonical},"hash":"${prev}"}\n`)
  }
}
