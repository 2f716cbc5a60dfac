import { existsSync, readFileSync } from 'node:fs'
import { type VerifyResult, verifyFiles } from '@apiward/audit-log'

/** One parsed audit line (flat field names, the example's default). */
export interface AuditLine {
  time: string
  event: string
  outcome?: string
  requestId?: string
  principal?: string
  ip?: string
  method?: string
  route?: string
  status?: number
  reason?: string
  chain: string
  n: number
  prev: string
  hash: string
  [field: string]: unknown
}

/** Every line of an audit file, parsed; a line that is not JSON fails loudly. */
export function auditLines(file: string): AuditLine[] {
  if (!existsSync(file)) return []
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line, i) => {
      try {
        return JSON.parse(line) as AuditLine
      } catch {
        throw new Error(`${file}:${i + 1} is not one JSON object: ${line.slice(0, 200)}`)
      }
    })
}

/** The lines of one request, by the `X-Request-Id` it sent. */
export function linesOf(lines: readonly AuditLine[], requestId: string): AuditLine[] {
  return lines.filter((line) => line.requestId === requestId)
}

/** Verifies the hash chain of a closed audit file. */
export function verifyAudit(file: string): VerifyResult {
  return verifyFiles([file])
}
