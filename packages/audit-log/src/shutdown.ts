import type { AuditLog } from './audit-log.js'

/** Options of {@link flushOnShutdown}. */
export interface ShutdownOptions {
  /** The signals that stop the process. Default `['SIGTERM', 'SIGINT']`. */
  signals?: readonly NodeJS.Signals[]
  /**
   * Runs first when a signal arrives, e.g. closing the HTTP server so the requests in flight are
   * answered (and logged) before the log closes. Waited for at most `timeoutMs`. Default: none.
   */
  beforeClose?: () => unknown
  /**
   * Milliseconds a shutdown may take: for `beforeClose`, then for a sink that stopped taking
   * lines. Default 5000: a stuck sink cannot keep the process from stopping.
   */
  timeoutMs?: number
}

const KNOWN = new Set(['signals', 'beforeClose', 'timeoutMs'])

/**
 * Makes sure every line of an answered request is written when the process stops: on `SIGTERM` and
 * `SIGINT` it runs `beforeClose`, flushes and closes the logs (the closing checkpoint included),
 * then stops the process with the signal as it would have stopped without the handler; on
 * `process.exit()` it closes them synchronously. Returns the function that removes the handlers.
 *
 * @example
 * ```ts
 * const server = app.listen(3000)
 * flushOnShutdown(log, { beforeClose: () => new Promise((done) => server.close(done)) })
 * ```
 */
export function flushOnShutdown(
  logs: AuditLog | readonly AuditLog[],
  options: ShutdownOptions = {},
): () => void {
  const list = Array.isArray(logs) ? (logs as readonly AuditLog[]) : [logs as AuditLog]
  if (list.length === 0 || list.some((log) => typeof log?.closeSync !== 'function')) {
    throw new TypeError('flushOnShutdown(log): pass the audit log (or logs) that auditLog() returned')
  }
  for (const name of Object.keys(options)) {
    if (!KNOWN.has(name))
      throw new TypeError(
        `flushOnShutdown(): unknown option "${name}". Known options: ${[...KNOWN].join(', ')}.`,
      )
  }
  const signals = options.signals ?? ['SIGTERM', 'SIGINT']
  if (!Array.isArray(signals) || signals.some((s) => typeof s !== 'string' || !s.startsWith('SIG'))) {
    throw new TypeError("flushOnShutdown(): signals must be signal names, e.g. ['SIGTERM', 'SIGINT']")
  }
  const timeoutMs = options.timeoutMs ?? 5000
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) {
    throw new TypeError('flushOnShutdown(): timeoutMs must be a positive whole number of milliseconds')
  }
  const beforeClose = options.beforeClose
  if (beforeClose !== undefined && typeof beforeClose !== 'function') {
    throw new TypeError('flushOnShutdown(): beforeClose must be a function')
  }

  let stopping = false
  const closeAll = () => {
    for (const log of list) log.closeSync(timeoutMs)
  }
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return
    stopping = true
    const started = Date.now()
    const within = <T>(work: Promise<T>, ms: number) =>
      Promise.race([work, new Promise<void>((done) => setTimeout(done, Math.max(0, ms)).unref())])
    void (async () => {
      try {
        if (beforeClose !== undefined) await within(Promise.resolve().then(beforeClose), timeoutMs)
      } catch {
        // The logs close either way.
      }
      // Written asynchronously first, so a descriptor's write in flight lands before the rest.
      await within(
        Promise.all(list.map((log) => log.flush())).catch(() => {}),
        timeoutMs - (Date.now() - started),
      )
      closeAll()
      remove()
      process.kill(process.pid, signal)
    })()
  }
  for (const signal of signals) process.on(signal, onSignal)
  process.on('exit', closeAll)
  const remove = () => {
    for (const signal of signals) process.off(signal, onSignal)
    process.off('exit', closeAll)
  }
  return remove
}
