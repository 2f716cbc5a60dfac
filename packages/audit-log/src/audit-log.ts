import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs'
import { hostname } from 'node:os'
import { resolve } from 'node:path'
import {
  checkOptions,
  functionOption,
  type KnownOptions,
  RequestCompletedEvent,
  type SecurityEvent,
  type SecurityEventBus,
  securityEvents,
} from '@apiward/core'
import pino from 'pino'
import { Chain, GENESIS, tailOf } from './chain.js'
import { completedJson, type FieldNames, recordOf } from './record.js'
import { escapeJson, type RedactOptions, Redactor } from './redact.js'
import { type SampledSummary, Sampler, type SamplingRule } from './sampling.js'
import { type AuditStream, type BufferBounds, type Sink, SonicSink, StreamSink } from './sink.js'

/**
 * Where the lines go: `'stdout'` or `'stderr'`, a file (one per process: the file is locked), a
 * descriptor, any pino transport (run in a worker thread, e.g. to a SIEM), or a stream of yours.
 */
export type AuditDestination =
  | 'stdout'
  | 'stderr'
  | { file: string; mkdir?: boolean }
  | { fd: number }
  | { transport: pino.TransportSingleOptions | pino.TransportMultiOptions | pino.TransportPipelineOptions }
  | { stream: AuditStream }

/** A checkpoint as `onCheckpoint` receives it: enough to prove later that the chain reached line `n`. */
export interface AuditCheckpoint {
  chain: string
  /** The number of the checkpoint line. */
  n: number
  /** The checkpoint line's hash. */
  hash: string
  /** Milliseconds since the epoch. */
  time: number
  /** `true` for the line that closes the chain. */
  closed: boolean
}

/** Options of {@link auditLog}. */
export interface AuditLogOptions {
  /** Where the lines go (see {@link AuditDestination}). Default `'stdout'`. */
  destination?: AuditDestination
  /** The bus to subscribe to. Default: the process-wide `securityEvents`. */
  events?: SecurityEventBus
  /**
   * Write one `request.completed` line per answered request (its principal, credential kind,
   * status, decisive code and duration). Default `true`: an audit trail needs the allowed
   * requests too; turn it off only where an access log of your own has those lines.
   */
  requestCompleted?: boolean
  /**
   * Field names: apiward's (`time`, `event`, `principal`, ...) or ECS (`@timestamp`,
   * `event.action`, `user.id`, ...). Default `'apiward'`. The chain fields keep their names.
   */
  fieldNames?: FieldNames
  /** Further redaction (keys, patterns, the censor). The built-in redaction cannot be turned off. */
  redact?: RedactOptions
  /**
   * Longest string written, in characters; longer ones are cut and their length recorded.
   * Default 1024: a line stays readable and an attacker cannot fill the disk through one field.
   */
  maxValueLength?: number
  /** Bytes gathered before a write, below 16384. Default 4096: one system call for many lines. */
  bufferBytes?: number
  /**
   * Bytes buffered at most while the sink is slow; lines beyond are dropped, counted and reported
   * (`audit.dropped`) once the sink is back. Default 8 MiB: a stalled sink costs bounded memory
   * and never blocks a request.
   */
  maxBufferBytes?: number
  /** Milliseconds after which a partly filled buffer is written anyway. Default 1000. */
  flushIntervalMs?: number
  /**
   * The name of the environment variable holding the key of HMAC-SHA-256 line hashes (at least 32
   * bytes). Default: none, plain SHA-256, which shows accidental changes and cut tails; with a key,
   * someone who can write the file cannot recompute the chain either. A named but unset variable
   * is a startup error, never a silent fallback.
   */
  hmacKeyEnv?: string
  /** Milliseconds between checkpoint lines. Default 60000; `false` for checkpoints only by count and at close. */
  checkpointIntervalMs?: number | false
  /** Lines between checkpoint lines. Default 10000. */
  checkpointEvery?: number
  /**
   * Receives every checkpoint, to keep it elsewhere (another log, a metrics system): then
   * `apiward-audit verify --anchor` proves a cut tail even when the closing line was forged
   * away. Default: none.
   */
  onCheckpoint?: (checkpoint: AuditCheckpoint) => void
  /**
   * Flood sampling by event type: identical events (same type, code, IP and principal) beyond
   * `max` within `windowMs` are counted, not written, and summed up in an `audit.sampled` line.
   * Default: none, every event is written; `request.completed` is sampled only when listed.
   */
  sampling?: Readonly<Record<string, SamplingRule>>
}

const OPTIONS: KnownOptions<AuditLogOptions> = {
  destination: true,
  events: true,
  requestCompleted: true,
  fieldNames: true,
  redact: true,
  maxValueLength: true,
  bufferBytes: true,
  maxBufferBytes: true,
  flushIntervalMs: true,
  hmacKeyEnv: true,
  checkpointIntervalMs: true,
  checkpointEvery: true,
  onCheckpoint: true,
  sampling: true,
}

const REDACT_OPTIONS: KnownOptions<RedactOptions> = { keys: true, patterns: true, censor: true }

const MISTAKES = {
  dest: 'destination',
  file: 'destination',
  redactPaths: 'redact',
  paths: 'redact',
  hmacKey: 'hmacKeyEnv',
  key: 'hmacKeyEnv',
  ecs: 'fieldNames',
}

/** Counters of an audit log. */
export interface AuditLogStats {
  /** Lines accepted by the sink, its own lines included. */
  lines: number
  /** Lines dropped because the sink's buffer was full. */
  dropped: number
  /** Events not written in full because of flood sampling. */
  sampled: number
}

/** A running audit log. */
export interface AuditLog {
  /** The id of the chain being written. */
  readonly chain: string
  /** Writes one event now (the bus listener; also for events of your own). */
  write(event: SecurityEvent): void
  /** Writes a checkpoint line now. */
  checkpoint(): void
  /** Resolves once the buffered lines are written. */
  flush(): Promise<void>
  /**
   * Continues the chain in a new file at the same path, after a rotation moved the old one (e.g.
   * on `SIGHUP` after logrotate without `copytruncate`): `apiward-audit verify old new` checks both
   * as one chain. A checkpoint ends the old file. Other destinations get the checkpoint only.
   */
  reopen(): void
  /** Writes the closing line, unsubscribes, flushes and closes the sink. */
  close(): Promise<void>
  /**
   * The same, synchronously, for an `exit` handler or a signal: gives up on a sink blocked for
   * `timeoutMs` (default 2000).
   */
  closeSync(timeoutMs?: number): void
  /** Counters of lines written, dropped and sampled. */
  stats(): AuditLogStats
}

const openFiles = new Set<string>()

/** The most sonic-boom writes at once: a buffer that gathers more could never be written. */
const MAX_WRITE = 16 * 1024

function positiveInteger(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new TypeError(`auditLog(): ${name} must be a positive whole number, got ${String(value)}`)
  }
  return value
}

/** Whether a process with this id runs (signal 0 probes without signalling). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Takes `<file>.lock` for this process: two processes appending to one chain would interleave
 * lines and break it. A lock left by a process that no longer runs is taken over.
 */
function lockFile(file: string): string {
  const lock = `${file}.lock`
  const fix = `give each process its own file, e.g. { destination: { file: \`audit-\${process.pid}.log\` } }`
  if (openFiles.has(file))
    throw new TypeError(`auditLog(): ${file} is already written by this process; ${fix}`)
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lock, 'wx')
      writeSync(fd, String(process.pid))
      closeSync(fd)
      openFiles.add(file)
      return lock
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      const pid = Number(readFileSync(lock, 'utf8'))
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
        throw new TypeError(`auditLog(): ${file} is written by process ${pid} (see ${lock}); ${fix}`)
      }
      unlinkSync(lock)
    }
  }
  throw new TypeError(`auditLog(): could not lock ${file}`)
}

function hmacKeyFrom(name: unknown): Uint8Array | undefined {
  if (name === undefined) return undefined
  if (typeof name !== 'string' || name === '') {
    throw new TypeError("auditLog(): hmacKeyEnv must name an environment variable, e.g. 'AUDIT_HMAC_KEY'")
  }
  const value = process.env[name]
  if (value === undefined || Buffer.byteLength(value) < 32) {
    throw new TypeError(
      `auditLog(): hmacKeyEnv names ${name}, which is ${value === undefined ? 'not set' : 'shorter than 32 bytes'}; set it to a secret of at least 32 bytes (e.g. \`openssl rand -base64 32\`)`,
    )
  }
  return Buffer.from(value)
}

function samplingRules(value: unknown): Map<string, Required<SamplingRule>> {
  const rules = new Map<string, Required<SamplingRule>>()
  if (value === undefined) return rules
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(
      "auditLog(): sampling must map event types to rules, e.g. { 'auth.failure': { windowMs: 60000 } }",
    )
  }
  for (const [type, rule] of Object.entries(value)) {
    const where = `auditLog(): sampling['${type}']`
    checkOptions<SamplingRule>(rule, where, { windowMs: true, max: true }, {}, '{ windowMs: 60000, max: 5 }')
    const windowMs = rule.windowMs
    if (typeof windowMs !== 'number' || !Number.isInteger(windowMs) || windowMs <= 0) {
      throw new TypeError(`${where}: windowMs must be a positive whole number of milliseconds`)
    }
    const max = rule.max ?? 1
    if (!Number.isInteger(max) || max < 1) {
      throw new TypeError(`${where}: max must be at least 1 (the first occurrence is always written)`)
    }
    rules.set(type, { windowMs, max })
  }
  return rules
}

function sinkFor(destination: unknown, bounds: BufferBounds): { sink: Sink; file?: string } {
  if (destination === undefined || destination === 'stdout') return { sink: new SonicSink({ fd: 1 }, bounds) }
  if (destination === 'stderr') return { sink: new SonicSink({ fd: 2 }, bounds) }
  const shape =
    "destination must be 'stdout', 'stderr', { file }, { fd }, { transport } or { stream }, e.g. { file: '/var/log/app/audit.log' }"
  if (typeof destination !== 'object' || destination === null) throw new TypeError(`auditLog(): ${shape}`)
  const d = destination as Record<string, unknown>
  if ('file' in d) {
    checkOptions<{ file: string; mkdir?: boolean }>(d, 'auditLog(): destination', { file: true, mkdir: true })
    if (typeof d.file !== 'string' || d.file === '')
      throw new TypeError('auditLog(): destination.file must be a path')
    const file = resolve(d.file)
    return { sink: new SonicSink({ file, mkdir: d.mkdir !== false }, bounds), file }
  }
  if ('fd' in d) {
    if (!Number.isInteger(d.fd) || (d.fd as number) < 0)
      throw new TypeError('auditLog(): destination.fd must be a descriptor')
    return { sink: new SonicSink({ fd: d.fd as number }, bounds) }
  }
  if ('transport' in d)
    return { sink: new StreamSink(pino.transport(d.transport as pino.TransportSingleOptions), bounds) }
  if ('stream' in d) {
    const stream = d.stream as AuditStream | undefined
    if (typeof stream?.write !== 'function' || typeof stream.on !== 'function') {
      throw new TypeError('auditLog(): destination.stream must be a writable stream')
    }
    return { sink: new StreamSink(stream, bounds) }
  }
  throw new TypeError(`auditLog(): ${shape}`)
}

class RunningAuditLog implements AuditLog {
  readonly #bus: SecurityEventBus
  readonly #redactor: Redactor
  /** The record of the event being written, built by `recordOf()`: all its strings went through `text()`. */
  #scanned: Record<string, unknown> | undefined
  readonly #names: FieldNames
  readonly #sampler: Sampler
  readonly #sink: Sink
  readonly #chain: Chain
  readonly #requestCompleted: boolean
  readonly #checkpointEvery: number
  readonly #onCheckpoint: ((checkpoint: AuditCheckpoint) => void) | undefined
  readonly #lock: string | undefined
  readonly #file: string | undefined
  readonly #off: () => void
  readonly #unwant: () => void
  readonly #timers: NodeJS.Timeout[] = []
  #sinceCheckpoint = 0
  #closed = false
  #lines = 0
  #dropped = 0
  #sampled = 0
  #pending = { count: 0, first: 0, last: 0 }

  constructor(options: AuditLogOptions) {
    checkOptions<AuditLogOptions>(
      options,
      'auditLog()',
      OPTIONS,
      MISTAKES,
      "auditLog({ destination: { file: 'audit.log' } })",
    )
    if (options.redact !== undefined)
      checkOptions<RedactOptions>(options.redact, 'auditLog(): redact', REDACT_OPTIONS)
    const names = options.fieldNames ?? 'apiward'
    if (names !== 'apiward' && names !== 'ecs')
      throw new TypeError("auditLog(): fieldNames must be 'apiward' or 'ecs'")
    const bus = options.events ?? securityEvents
    if (typeof bus?.on !== 'function' || typeof bus.want !== 'function') {
      throw new TypeError('auditLog(): events must be a SecurityEventBus')
    }
    const requestCompleted = options.requestCompleted ?? true
    if (typeof requestCompleted !== 'boolean')
      throw new TypeError('auditLog(): requestCompleted must be true or false')
    const redact = options.redact ?? {}
    if (
      redact.keys !== undefined &&
      (!Array.isArray(redact.keys) || redact.keys.some((k) => typeof k !== 'string'))
    ) {
      throw new TypeError("auditLog(): redact.keys must be field names, e.g. ['ssn', 'email']")
    }
    if (
      redact.patterns !== undefined &&
      (!Array.isArray(redact.patterns) || redact.patterns.some((p) => !(p instanceof RegExp)))
    ) {
      throw new TypeError('auditLog(): redact.patterns must be regular expressions')
    }
    if (redact.censor !== undefined && typeof redact.censor !== 'string')
      throw new TypeError('auditLog(): redact.censor must be a string')
    const maxValueLength = positiveInteger(options.maxValueLength, 'maxValueLength', 1024)
    const bufferBytes = positiveInteger(options.bufferBytes, 'bufferBytes', 4096)
    if (bufferBytes >= MAX_WRITE) {
      throw new TypeError(
        `auditLog(): bufferBytes must be below ${MAX_WRITE} (one write of the sink), got ${bufferBytes}`,
      )
    }
    const maxBufferBytes = positiveInteger(options.maxBufferBytes, 'maxBufferBytes', 8 * 1024 * 1024)
    if (maxBufferBytes <= bufferBytes)
      throw new TypeError('auditLog(): maxBufferBytes must be larger than bufferBytes')
    const flushIntervalMs = positiveInteger(options.flushIntervalMs, 'flushIntervalMs', 1000)
    const checkpointIntervalMs =
      options.checkpointIntervalMs === false
        ? false
        : positiveInteger(options.checkpointIntervalMs, 'checkpointIntervalMs', 60_000)
    this.#checkpointEvery = positiveInteger(options.checkpointEvery, 'checkpointEvery', 10_000)
    this.#onCheckpoint = functionOption(
      options.onCheckpoint,
      'onCheckpoint',
      'auditLog()',
      '(checkpoint) => void',
    )
    const key = hmacKeyFrom(options.hmacKeyEnv)
    this.#sampler = new Sampler(samplingRules(options.sampling))
    this.#redactor = new Redactor(redact, maxValueLength)
    this.#names = names
    this.#requestCompleted = requestCompleted
    this.#bus = bus

    // The file is locked before anything is opened or written: a second writer fails at startup.
    const target = options.destination as { file?: unknown } | undefined
    const named = typeof target === 'object' && target !== null && 'file' in target ? target.file : undefined
    if (named !== undefined && (typeof named !== 'string' || named === '')) {
      throw new TypeError(
        "auditLog(): destination.file must be a path, e.g. { file: '/var/log/api/audit.log' }",
      )
    }
    const file = named === undefined ? undefined : resolve(named)
    this.#lock = file === undefined ? undefined : lockFile(file)
    this.#file = file
    let sink: Sink
    try {
      const tail = file === undefined ? undefined : tailOf(file)
      if (tail?.partial === true) appendNewline(file!)
      this.#chain = new Chain(key, tail?.last?.hash ?? GENESIS)
      sink = sinkFor(options.destination, { bufferBytes, maxBufferBytes, flushIntervalMs }).sink
      this.#sink = sink
      this.#own('audit.chain_started', {
        algorithm: this.#chain.algorithm,
        previousChain: tail?.last?.chain,
        pid: process.pid,
        host: hostname(),
        file,
      })
    } catch (err) {
      this.#releaseLock()
      throw err
    }
    sink.events.on('room', () => this.#reportDrops())
    sink.events.on('error', (err: unknown) => {
      this.#bus.report('audit.error', {
        severity: 'error',
        detail: err instanceof Error ? err.message : String(err),
      })
    })
    this.#off = bus.on((event) => this.write(event))
    this.#unwant = requestCompleted ? bus.want('request.completed') : () => {}
    if (checkpointIntervalMs !== false) this.#every(checkpointIntervalMs, () => this.checkpoint())
    if (this.#sampler.active) this.#every(1000, () => this.#writeSummaries(this.#sampler.expire(Date.now())))
  }

  get chain(): string {
    return this.#chain.id
  }

  #every(ms: number, run: () => void): void {
    const timer = setInterval(run, ms)
    timer.unref()
    this.#timers.push(timer)
  }

  write(event: SecurityEvent): void {
    if (this.#closed) return
    const type = event.type
    // The log's own bus reports (`audit.dropped`, `audit.error`) are lines of their own already.
    if (type.startsWith('audit.')) return
    if (type === 'request.completed' && !this.#requestCompleted) return
    if (this.#sampler.active) {
      const summaries: SampledSummary[] = []
      const admitted = this.#sampler.admit(event, Date.now(), summaries)
      this.#writeSummaries(summaries)
      if (!admitted) {
        this.#sampled++
        return
      }
    }
    let record: Record<string, unknown> | undefined
    let json: string | undefined
    try {
      this.#redactor.takeUnsafe()
      // The context's own `request.completed` events, one per request, are written straight from
      // their fields; any other event goes through its record.
      if (event instanceof RequestCompletedEvent && this.#names === 'apiward')
        json = completedJson(event, this.#redactor)
      else {
        record = recordOf(event, this.#redactor, this.#names)
        this.#scanned = record
      }
    } catch (err) {
      json = undefined
      record = this.#ownRecord('audit.unwritable_event', {
        sourceEvent: this.#redactor.text(String(type)),
        detail: this.#redactor.text(String(err)),
      })
    }
    if (json !== undefined) this.#putJson(json, true)
    else this.#put(record!)
  }

  #writeSummaries(summaries: readonly SampledSummary[]): void {
    for (const s of summaries) {
      const r = this.#redactor
      this.#own('audit.sampled', {
        sampledEvent: r.text(s.sampledEvent),
        reason: s.reason === undefined ? undefined : r.text(s.reason),
        ip: s.ip === undefined ? undefined : r.text(s.ip),
        principal: s.principal === undefined ? undefined : r.text(s.principal),
        count: s.count,
        suppressed: s.suppressed,
        firstAt: new Date(s.firstAt).toISOString(),
        lastAt: new Date(s.lastAt).toISOString(),
      })
    }
  }

  #ownRecord(type: string, fields: Record<string, unknown>): Record<string, unknown> {
    const time = new Date().toISOString()
    const { level = 'info', ...rest } = fields
    if (this.#names === 'ecs')
      return { '@timestamp': time, event: { action: type }, log: { level }, apiward: rest }
    return { time, event: type, level, ...rest }
  }

  #own(type: string, fields: Record<string, unknown>): boolean {
    return this.#put(this.#ownRecord(type, fields))
  }

  /** Writes a record; after drops, the report of the drops goes first. */
  #put(record: Record<string, unknown>): boolean {
    // An event's record whose strings `text()` found safe needs no escape pass; any other is escaped.
    const scanned = record === this.#scanned
    this.#scanned = undefined
    return this.#putJson(JSON.stringify(record), scanned)
  }

  /** `#put()` of a record's JSON; `scanned` when every string in it went through the redactor's `text()`. */
  #putJson(json: string, scanned: boolean): boolean {
    if (this.#pending.count > 0 && !this.#reportDrops()) {
      this.#countDrop()
      return false
    }
    if (this.#append(json, scanned && !this.#redactor.takeUnsafe())) return true
    this.#countDrop()
    return false
  }

  #append(json: string, safe: boolean): boolean {
    const line = this.#chain.seal(safe ? json : escapeJson(json))
    if (!this.#sink.write(line)) {
      this.#chain.undo()
      return false
    }
    this.#lines++
    if (++this.#sinceCheckpoint >= this.#checkpointEvery) this.checkpoint()
    return true
  }

  #countDrop(): void {
    const now = Date.now()
    const pending = this.#pending
    if (pending.count === 0) pending.first = now
    pending.count++
    pending.last = now
    this.#dropped++
  }

  /** Writes the `audit.dropped` line for the drops since the last one; `false` when the sink is still full. */
  #reportDrops(): boolean {
    const { count, first, last } = this.#pending
    if (count === 0) return true
    const written = this.#append(
      JSON.stringify(
        this.#ownRecord('audit.dropped', {
          level: 'warn',
          dropped: count,
          firstDropAt: new Date(first).toISOString(),
          lastDropAt: new Date(last).toISOString(),
        }),
      ),
      false,
    )
    if (!written) return false
    this.#pending = { count: 0, first: 0, last: 0 }
    this.#bus.report('audit.dropped', {
      severity: 'warn',
      dropped: count,
      firstDropAt: first,
      lastDropAt: last,
    })
    return true
  }

  checkpoint(): void {
    if (this.#closed) return
    this.#mark('audit.checkpoint')
  }

  #mark(type: 'audit.checkpoint' | 'audit.chain_closed', extra: Record<string, unknown> = {}): void {
    const chain = this.#chain
    this.#sinceCheckpoint = 0
    if (!this.#own(type, { count: chain.n, last: chain.last, ...extra })) return
    const listener = this.#onCheckpoint
    if (listener === undefined) return
    try {
      listener({
        chain: chain.id,
        n: chain.n,
        hash: chain.last,
        time: Date.now(),
        closed: type === 'audit.chain_closed',
      })
    } catch {
      // A failing receiver of checkpoints must not stop the log; the line is written.
    }
  }

  flush(): Promise<void> {
    return this.#sink.flush()
  }

  reopen(): void {
    if (this.#closed) return
    this.#mark('audit.checkpoint', { rotated: true })
    this.#sink.flushSync(2000)
    this.#sink.reopen()
  }

  #finish(): void {
    this.#closed = true
    this.#off()
    this.#unwant()
    for (const timer of this.#timers) clearInterval(timer)
    this.#writeSummaries(this.#sampler.expire(Date.now(), true))
    this.#reportDrops()
    this.#mark('audit.chain_closed')
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#finish()
    await this.#sink.end()
    this.#releaseLock()
  }

  closeSync(timeoutMs = 2000): void {
    if (this.#closed) return
    this.#finish()
    this.#sink.flushSync(timeoutMs)
    this.#releaseLock()
  }

  #releaseLock(): void {
    if (this.#lock === undefined) return
    openFiles.delete(this.#file!)
    try {
      unlinkSync(this.#lock)
    } catch {
      // Already gone: nothing to release.
    }
  }

  stats(): AuditLogStats {
    return { lines: this.#lines, dropped: this.#dropped, sampled: this.#sampled }
  }
}

function appendNewline(file: string): void {
  const fd = openSync(file, 'a')
  try {
    writeSync(fd, '\n')
  } finally {
    closeSync(fd)
  }
}

/**
 * Starts an audit log: one JSON line per security event on the bus (and one `request.completed`
 * per answered request), redacted, escaped so no input can forge or split a line, and chained by
 * SHA-256 (or HMAC) so `apiward-audit verify` finds any altered, reordered, inserted or missing
 * line. Call `flushOnShutdown(log)` so the buffered lines are written when the process stops.
 *
 * @example
 * ```ts
 * import { auditLog, flushOnShutdown } from '@apiward/audit-log'
 * const log = auditLog({ destination: { file: '/var/log/api/audit.log' }, hmacKeyEnv: 'AUDIT_HMAC_KEY' })
 * flushOnShutdown(log)
 * ```
 */
export function auditLog(options: AuditLogOptions = {}): AuditLog {
  return new RunningAuditLog(options)
}
