const warned = new Set<string>()

/**
 * The one channel for apiward's warnings: each `code` is written once per process, as a Node
 * process warning (`process.emitWarning`, so `--no-warnings` and `process.on('warning')` work)
 * or, outside Node, `console.warn`. `docs` is a path below the docs folder with an anchor
 * (`ratelimit.md#client-ip`) of the apiward docs, appended to the message so every warning names
 * where to read more.
 *
 * Returns `true` when this call wrote the warning, `false` when the code was already warned.
 *
 * @example
 * ```ts
 * warnOnce('APIWARD_UNPARSABLE_IP', 'The client address "x" is not an IP address: ...', 'ratelimit.md#client-ip')
 * ```
 */
export function warnOnce(code: string, message: string, docs?: string): boolean {
  if (warned.has(code)) return false
  warned.add(code)
  const text = docs === undefined ? message : `${message} See docs/${docs}.`
  const proc = (globalThis as { process?: { emitWarning?: (m: string, o: { code: string }) => void } })
    .process
  if (typeof proc?.emitWarning === 'function') proc.emitWarning(text, { code })
  else console.warn(`[${code}] ${text}`)
  return true
}

/** Forgets which codes were warned, so a test can observe a warning again. */
export function resetWarnings(): void {
  warned.clear()
}
