import { createHmac, hash as digest, randomBytes } from 'node:crypto'
import { closeSync, fstatSync, openSync, readSync } from 'node:fs'

/** The `prev` of a chain's first line when nothing came before it. */
export const GENESIS = '0'.repeat(64)

/** How a chain's hashes are computed: plain SHA-256, or HMAC-SHA-256 with a secret key. */
export type ChainAlgorithm = 'sha256' | 'hmac-sha256'

/** The characters every line ends with after its hash: `,"hash":"<64 hex>"}`. */
const HASH_SUFFIX_LENGTH = ',"hash":"'.length + 64 + '"}'.length

/**
 * The hash of a line's canonical text: everything before its `,"hash":` field, which already
 * holds the line's `chain`, `n` and `prev`, so each hash covers the one before it.
 */
export function lineHash(canonical: string, key: Uint8Array | undefined): string {
  // The one-shot `hash()` skips the Hash object `createHash()` builds: about half the cost of a line's hash.
  return key === undefined
    ? digest('sha256', canonical, 'hex')
    : createHmac('sha256', key).update(canonical).digest('hex')
}

/**
 * Splits a written line into its canonical text and its hash, or `undefined` when the line does
 * not end the way the audit log ends every line.
 */
export function splitLine(line: string): { canonical: string; hash: string } | undefined {
  if (line.length <= HASH_SUFFIX_LENGTH || !line.endsWith('"}')) return undefined
  const at = line.length - HASH_SUFFIX_LENGTH
  if (!line.startsWith(',"hash":"', at)) return undefined
  const hash = line.slice(at + 9, line.length - 2)
  return /^[0-9a-f]{64}$/.test(hash) ? { canonical: line.slice(0, at), hash } : undefined
}

/** A new chain id: unique per process and file, short enough to repeat on every line. */
export function newChainId(): string {
  return randomBytes(9).toString('base64url')
}

/**
 * The position of one chain: its id, the next line's number and the last line's hash. `seal()`
 * turns a record's JSON into the line that is written; `undo()` takes the last seal back when
 * the sink refused the line, so a dropped line leaves no gap in the chain.
 */
export class Chain {
  readonly id: string
  readonly algorithm: ChainAlgorithm
  readonly #key: Uint8Array | undefined
  /** The number of the last sealed line (0 before the first). */
  n = 0
  /** The hash of the last sealed line. */
  last: string
  #undo: { n: number; last: string } | undefined

  constructor(key: Uint8Array | undefined, previous = GENESIS) {
    this.id = newChainId()
    this.#key = key
    this.algorithm = key === undefined ? 'sha256' : 'hmac-sha256'
    this.last = previous
  }

  /** The line for a record's JSON (`{...}`): the chain fields added, then its hash, then a newline. */
  seal(json: string): string {
    this.#undo = { n: this.n, last: this.last }
    const n = this.n + 1
    const canonical = `${json.slice(0, -1)},"chain":"${this.id}","n":${n},"prev":"${this.last}"`
    const hash = lineHash(canonical, this.#key)
    this.n = n
    this.last = hash
    return `${canonical},"hash":"${hash}"}\n`
  }

  /** Takes the last `seal()` back. */
  undo(): void {
    if (this.#undo === undefined) return
    this.n = this.#undo.n
    this.last = this.#undo.last
    this.#undo = undefined
  }
}

/** What a process appending to an existing file needs to know of it. */
export interface FileTail {
  /** The chain id and hash of the file's last line, when it is an audit line. */
  last: { chain: string; hash: string } | undefined
  /** `true` when the file does not end with a newline (a line was cut while being written). */
  partial: boolean
}

/**
 * The chain id and hash of a file's last line, so a process that appends to the file starts a
 * chain linked to it; `undefined` for a missing or empty file.
 */
export function tailOf(file: string): FileTail | undefined {
  let fd: number
  try {
    fd = openSync(file, 'r')
  } catch {
    return undefined
  }
  try {
    const size = fstatSync(fd).size
    if (size === 0) return undefined
    const length = Math.min(size, 256 * 1024)
    const buffer = Buffer.alloc(length)
    readSync(fd, buffer, 0, length, size - length)
    const text = buffer.toString('utf8')
    const partial = !text.endsWith('\n')
    const trimmed = text.replace(/\n+$/, '')
    const split = splitLine(trimmed.slice(trimmed.lastIndexOf('\n') + 1))
    const chain =
      split === undefined
        ? null
        : /,"chain":"([A-Za-z0-9_-]+)","n":\d+,"prev":"[0-9a-f]{64}"$/.exec(split.canonical)
    return { last: chain === null ? undefined : { chain: chain[1]!, hash: split!.hash }, partial }
  } finally {
    closeSync(fd)
  }
}
