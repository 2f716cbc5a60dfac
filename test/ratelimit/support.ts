import { type SecurityEvent, SecurityEventBus } from '@apiward/core'
import { type Answer, type SendOptions, send } from '../conformance/client.js'

/** A request whose answer did not come within this many milliseconds counts as hung. */
export const HANG_MS = 4000

/** Sends `n` requests at once, each on its own connection. */
export function concurrently(n: number, url: string, options: (i: number) => SendOptions = () => ({})) {
  return Promise.all(Array.from({ length: n }, (_, i) => send(url, { abortAfterMs: HANG_MS, ...options(i) })))
}

/** Sends requests one after the other. */
export async function inSequence(n: number, url: string, options: (i: number) => SendOptions = () => ({})) {
  const answers: Answer[] = []
  for (let i = 0; i < n; i++) answers.push(await send(url, { abortAfterMs: HANG_MS, ...options(i) }))
  return answers
}

/** Counts answers by status; a hung request counts as status 0. */
export function byStatus(answers: readonly Answer[]): Record<number, number> {
  const counts: Record<number, number> = {}
  for (const a of answers) counts[a.status] = (counts[a.status] ?? 0) + 1
  return counts
}

/** A JSON POST. */
export function json(body: unknown, headers: Record<string, string> = {}): SendOptions {
  return {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'Content-Type': 'application/json', ...headers },
  }
}

/** Forwarded for `client` by one trusted proxy (what the proxy appends is the rightmost entry). */
export function via(client: string, spoofed?: string): SendOptions {
  return { headers: { 'X-Forwarded-For': spoofed === undefined ? client : `${spoofed}, ${client}` } }
}

/** An event bus that records what it sees. */
export function recordingBus(): { bus: SecurityEventBus; events: SecurityEvent[] } {
  const bus = new SecurityEventBus()
  const events: SecurityEvent[] = []
  bus.on((e) => events.push(e))
  return { bus, events }
}

/** Whether an answer is a problem+json document of this status and code. */
export function isProblem(answer: Answer, status: number, code: string): boolean {
  return (
    answer.status === status &&
    String(answer.headers['content-type']).startsWith('application/problem+json') &&
    answer.json?.status === status &&
    answer.json?.code === code
  )
}

/** Whether an answer carries `Retry-After` as a positive number of seconds. */
export function hasRetryAfter(answer: Answer): boolean {
  return /^[1-9]\d*$/.test(String(answer.headers['retry-after']))
}

/** Collects unhandled rejections for the duration of a file. */
export function watchUnhandled(): { rejections: unknown[]; stop(): void } {
  const rejections: unknown[] = []
  const listener = (reason: unknown) => rejections.push(reason)
  process.on('unhandledRejection', listener)
  return { rejections, stop: () => process.off('unhandledRejection', listener) }
}
