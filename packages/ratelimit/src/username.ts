/**
 * One spelling per username: NFKC (full-width and compatibility forms fold to their plain
 * letters), lower case, surrounding white space removed. `' Alice '`, `'ALICE'` and `'ａｌｉｃｅ'`
 * are one account to a brute-force counter. Anything that is not a non-empty string or a
 * finite number is no username.
 *
 * @example
 * ```ts
 * normalizeUsername(' ＡＬＩＣＥ@Example.com ') // 'alice@example.com'
 * ```
 */
export function normalizeUsername(value: unknown): string | undefined {
  let text: string
  if (typeof value === 'string') text = value
  else if (typeof value === 'number' && Number.isFinite(value)) text = String(value)
  else return undefined
  const normalized = text.normalize('NFKC').toLowerCase().trim()
  return normalized === '' ? undefined : normalized
}
