import { closeSync, openSync, readSync } from 'node:fs'
import { StringDecoder } from 'node:string_decoder'
import { lineHash, splitLine } from './chain.js'

/** What is wrong at the first line that does not verify. */
export type ChainProblemKind =
  | 'unreadable'
  | 'altered'
  | 'missing'
  | 'reordered'
  | 'inserted'
  | 'unlinked'
  | 'not_closed'
  | 'anchor_missing'

/** The first line of a set of files that does not verify. */
export interface ChainProblem {
  kind: ChainProblemKind
  file: string
  /** The line number in `file`, from 1 (for `not_closed`, the chain's last line). */
  line: number
  message: string
}

/** A checkpoint kept elsewhere (`onCheckpoint`) that the files must contain. */
export interface ChainAnchor {
  chain: string
  n: number
  hash: string
}

/** Options of {@link verifyFiles}. */
export interface VerifyOptions {
  /** The HMAC key the log was written with (`hmacKeyEnv`), as bytes or text. */
  key?: Uint8Array | string
  /** Checkpoints kept elsewhere: a chain that ends before one of them lost its tail. */
  anchors?: readonly ChainAnchor[]
  /**
   * Accept a last chain without its closing line: the log is still being written. Default
   * `false`: a chain that stops without closing lost its tail (or its process was killed).
   */
  live?: boolean
}

/** The outcome of {@link verifyFiles}. */
export interface VerifyResult {
  ok: boolean
  /** Lines read before the first problem (all of them when `ok`). */
  lines: number
  /** The chains seen, in order. */
  chains: string[]
  problem: ChainProblem | undefined
}

const CHAIN_FIELDS = /,"chain":"([A-Za-z0-9_-]+)","n":(\d+),"prev":"([0-9a-f]{64})"$/

interface Position {
  chain: string
  n: number
  hash: string
  closed: boolean
  file: string
  line: number
}

function typeOf(record: Record<string, unknown>): { type: unknown; fields: Record<string, unknown> } {
  const event = record.event
  if (typeof event === 'object' && event !== null) {
    return {
      type: (event as { action?: unknown }).action,
      fields: (record.apiward ?? {}) as Record<string, unknown>,
    }
  }
  return { type: event, fields: record }
}

/**
 * Calls `visit` with each line of a file and its number, read in chunks: a log of any size is
 * checked in bounded memory. Stops at the first result `visit` returns.
 */
function eachLine<T>(
  file: string,
  visit: (line: string, file: string, lineNo: number) => T | undefined,
): T | undefined {
  const fd = openSync(file, 'r')
  try {
    const buffer = Buffer.alloc(1 << 20)
    const decoder = new StringDecoder('utf8')
    let rest = ''
    let lineNo = 0
    for (;;) {
      const read = readSync(fd, buffer, 0, buffer.length, null)
      if (read === 0) {
        const last = rest + decoder.end()
        return last === '' ? undefined : visit(last, file, lineNo + 1)
      }
      const rows = (rest + decoder.write(buffer.subarray(0, read))).split('\n')
      rest = rows.pop()!
      for (const row of rows) {
        const result = visit(row, file, ++lineNo)
        if (result !== undefined) return result
      }
    }
  } finally {
    closeSync(fd)
  }
}

/**
 * Verifies audit files as one sequence, in the order given (rotated files oldest first): every
 * line's hash, its place in its chain (`n`, `prev`), the link of each new chain to the line
 * before it, checkpoint counts, closing lines and anchors. Returns the first problem with its
 * file and line number.
 *
 * @example
 * ```ts
 * const result = verifyFiles(['audit.log.1', 'audit.log'], { key: process.env.AUDIT_HMAC_KEY })
 * if (!result.ok) console.error(result.problem.message)
 * ```
 */
export function verifyFiles(files: readonly string[], options: VerifyOptions = {}): VerifyResult {
  const key = typeof options.key === 'string' ? Buffer.from(options.key) : options.key
  const anchors = new Map<string, ChainAnchor[]>()
  for (const anchor of options.anchors ?? [])
    anchors.set(anchor.chain, [...(anchors.get(anchor.chain) ?? []), anchor])
  const chains: string[] = []
  let lines = 0
  let at: Position | undefined
  const fail = (kind: ChainProblemKind, file: string, line: number, message: string): VerifyResult => ({
    ok: false,
    lines,
    chains,
    problem: { kind, file, line, message: `${file}:${line}: ${message}` },
  })
  const endOfChain = (position: Position): VerifyResult | undefined => {
    for (const anchor of anchors.get(position.chain) ?? []) {
      if (anchor.n > position.n) {
        return fail(
          'anchor_missing',
          position.file,
          position.line,
          `chain ${position.chain} ends at line ${position.n}, but a checkpoint kept elsewhere shows it reached line ${anchor.n}: its tail was cut`,
        )
      }
    }
    return undefined
  }
  /** Checks one line; the result when it does not verify. */
  const check = (row: string, file: string, lineNo: number): VerifyResult | undefined => {
    const split = splitLine(row)
    const fields = split === undefined ? null : CHAIN_FIELDS.exec(split.canonical)
    let record: Record<string, unknown> | undefined
    try {
      record = JSON.parse(row) as Record<string, unknown>
    } catch {
      record = undefined
    }
    if (split === undefined || fields === null || record === undefined) {
      return fail('unreadable', file, lineNo, 'not an audit line (cut, edited or inserted by hand)')
    }
    if (lineHash(split.canonical, key) !== split.hash) {
      return fail(
        'altered',
        file,
        lineNo,
        key === undefined && /"algorithm":"hmac-sha256"/.test(row)
          ? 'the line is HMAC-chained: give its key (--key-env)'
          : 'the line was altered: its hash does not match its content',
      )
    }
    const chain = fields[1]!
    const n = Number(fields[2])
    const prev = fields[3]!
    const { type, fields: own } = typeOf(record)
    if (type === 'audit.chain_started' && n === 1) {
      if (at !== undefined) {
        if (!at.closed) {
          const cut = endOfChain(at)
          if (cut !== undefined) return cut
          return fail(
            'not_closed',
            at.file,
            at.line,
            `chain ${at.chain} stops at line ${at.n} without its closing line: its tail was cut, or its process was killed`,
          )
        }
        if (prev !== at.hash) {
          return fail(
            'unlinked',
            file,
            lineNo,
            `chain ${chain} does not start from the line before it (${at.file}:${at.line}): lines were removed or inserted between them`,
          )
        }
        const cut = endOfChain(at)
        if (cut !== undefined) return cut
      }
      chains.push(chain)
      at = { chain, n, hash: split.hash, closed: false, file, line: lineNo }
      lines++
      return undefined
    }
    for (const anchor of anchors.get(chain) ?? []) {
      if (anchor.n === n && anchor.hash !== split.hash) {
        return fail(
          'altered',
          file,
          lineNo,
          `line ${n} of chain ${chain} differs from the checkpoint kept elsewhere`,
        )
      }
    }
    if (at === undefined) {
      return fail(
        'missing',
        file,
        lineNo,
        `the files start inside chain ${chain}, at line ${n}: give the older rotated files first, or lines were removed from the start`,
      )
    }
    if (at.closed) return fail('inserted', file, lineNo, `a line after the closing line of chain ${at.chain}`)
    if (chain !== at.chain) {
      return fail(
        'inserted',
        file,
        lineNo,
        `a line of chain ${chain} inside chain ${at.chain} (${at.file}:${at.line} came before it)`,
      )
    }
    if (n !== at.n + 1) {
      return n <= at.n
        ? fail(
            'reordered',
            file,
            lineNo,
            `line ${n} of chain ${chain} comes after line ${at.n}: lines were swapped or repeated`,
          )
        : fail(
            'missing',
            file,
            lineNo,
            `line ${n} of chain ${chain} follows line ${at.n}: ${n - at.n - 1} line(s) are missing before it`,
          )
    }
    if (prev !== at.hash)
      return fail(
        'inserted',
        file,
        lineNo,
        `line ${n} does not follow the line before it: a line was inserted or replaced`,
      )
    if (type === 'audit.checkpoint' || type === 'audit.chain_closed') {
      if (own.count !== n - 1 || own.last !== prev) {
        return fail('altered', file, lineNo, `the checkpoint's count and last hash do not match the chain`)
      }
    }
    at = { chain, n, hash: split.hash, closed: type === 'audit.chain_closed', file, line: lineNo }
    lines++
    return undefined
  }
  for (const file of files) {
    const problem = eachLine(file, check)
    if (problem !== undefined) return problem
  }
  if (at !== undefined) {
    const cut = endOfChain(at)
    if (cut !== undefined) return cut
    if (!at.closed && options.live !== true) {
      return fail(
        'not_closed',
        at.file,
        at.line,
        `chain ${at.chain} stops at line ${at.n} without its closing line: its tail was cut, or its process was killed (pass --live for a log still being written)`,
      )
    }
  }
  for (const [chain, list] of anchors) {
    if (!chains.includes(chain)) {
      const last = at ?? { file: files.at(-1) ?? '', line: 0 }
      return fail(
        'anchor_missing',
        last.file,
        last.line,
        `no line of chain ${chain}, which a checkpoint kept elsewhere shows reached line ${list[0]!.n}`,
      )
    }
  }
  return { ok: true, lines, chains, problem: undefined }
}
