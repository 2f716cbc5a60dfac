import { escapeJson } from './redact.js'

const CHAIN_KEYS = new Set(['chain', 'n', 'prev', 'hash'])

/** A value as one line of printable text: strings quoted and escaped as in the file. */
const show = (value: unknown): string =>
  typeof value === 'string' && /^[\w.:/@-]*$/.test(value)
    ? value
    : escapeJson(JSON.stringify(value) ?? 'undefined')

/**
 * One audit line as a readable line for a terminal: time, event, outcome, status, principal,
 * route and reason first, the other fields as `key=value`, the chain fields left out. Text from
 * the line is escaped, so no logged value can move the cursor or colour the terminal. A line
 * that is not JSON is shown escaped, marked `?`.
 *
 * @example
 * ```ts
 * formatLine(line) // '2026-05-01T10:00:00.000Z auth.failure failure 401 ip=10.0.0.1 reason=auth.invalid_token'
 * ```
 */
export function formatLine(line: string): string {
  let record: Record<string, unknown>
  try {
    record = JSON.parse(line) as Record<string, unknown>
  } catch {
    return `? ${escapeJson(JSON.stringify(line))}`
  }
  if (typeof record !== 'object' || record === null) return `? ${escapeJson(JSON.stringify(line))}`
  const ecs = typeof record.event === 'object' && record.event !== null
  const flat: Record<string, unknown> = ecs ? flatten(record) : record
  const time = flat.time ?? flat['@timestamp']
  const event = flat.event ?? flat['event.action']
  const outcome = flat.outcome ?? flat['event.outcome']
  const parts = [show(time), show(event)]
  if (outcome !== undefined) parts.push(show(outcome))
  const status = flat.status ?? flat['http.response.status_code']
  if (status !== undefined) parts.push(show(status))
  const skip = new Set([
    'time',
    '@timestamp',
    'event',
    'event.action',
    'outcome',
    'event.outcome',
    'status',
    'http.response.status_code',
  ])
  for (const [key, value] of Object.entries(flat)) {
    if (skip.has(key) || CHAIN_KEYS.has(key) || value === undefined) continue
    parts.push(`${show(key)}=${show(value)}`)
  }
  return parts.join(' ')
}

function flatten(
  value: Record<string, unknown>,
  prefix = '',
  out: Record<string, unknown> = {},
): Record<string, unknown> {
  for (const [key, item] of Object.entries(value)) {
    const name = prefix === '' ? key : `${prefix}.${key}`
    if (typeof item === 'object' && item !== null && !Array.isArray(item))
      flatten(item as Record<string, unknown>, name, out)
    else out[name] = item
  }
  return out
}
