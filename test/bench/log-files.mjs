// The log files of the bench's servers: a temp file per process, and pino's file destination
// buffered as the audit log's file sink is (4 KiB, synchronous writes), for the limits and peers.
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
