import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type SecurityEvent, SecurityEventBus } from '@apiward/core'
import { afterAll } from 'vitest'

/** A temporary directory removed after the file's tests. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'apiward-audit-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** The lines of a file, without the empty string after the last newline. */
export function linesOf(file: string): string[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
}

/** The parsed records of a file. */
export function recordsOf(file: string): Record<string, any>[] {
  return linesOf(file).map((line) => JSON.parse(line))
}

/** A bus of its own, so no other test's events reach the log under test. */
export function newBus(): SecurityEventBus {
  return new SecurityEventBus()
}

/** A full event as a bus delivers it. */
export function event(type: string, fields: Partial<SecurityEvent> = {}): SecurityEvent {
  return { type, time: Date.UTC(2026, 4, 1, 10, 0, 0), seq: 1, severity: 'info', ...fields }
}
