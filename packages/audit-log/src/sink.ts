import { EventEmitter } from 'node:events'
import sonicBoom, { type SonicBoom, type SonicBoomOpts } from 'sonic-boom'

/** The sonic-boom constructor: a CommonJS default export. */
const Sonic = sonicBoom as unknown as new (
  options: SonicBoomOpts,
) => SonicBoom & {
  readonly destroyed: boolean
  readonly fd: number
}

/** A writable stream the audit log can write lines to: a pino transport, a socket, a `Writable`. */
export interface AuditStream {
  write(line: string): boolean
  on(event: 'drain' | 'error' | 'finish' | 'close', listener: (...args: any[]) => void): unknown
  end?(callback?: () => void): unknown
  flushSync?(): void
}

/** The sink of one audit log: a bounded buffer in front of a file, a descriptor or a stream. */
export interface Sink {
  /** Writes a line; `false` when the buffer was full and the line was dropped. */
  write(line: string): boolean
  /** Writes what is buffered, resolved once it is written (or the sink failed). */
  flush(): Promise<void>
  /** Writes what is buffered before returning; gives up on a blocked descriptor after `timeoutMs`. */
  flushSync(timeoutMs: number): void
  /** Moves to the file at the same path (after a log rotation renamed the old one). */
  reopen(): void
  /** Flushes and closes. */
  end(): Promise<void>
  /** Emits `room` once lines can be written again after a drop, `error` when the sink fails. */
  readonly events: EventEmitter
}

/** Bounds of a sink's buffer. */
export interface BufferBounds {
  /** Bytes gathered before a write (sonic-boom `minLength`). */
  bufferBytes: number
  /** Bytes buffered at most; a line that would exceed them is dropped (sonic-boom `maxLength`). */
  maxBufferBytes: number
  /** Milliseconds between flushes of a partly filled buffer. */
  flushIntervalMs: number
}

/**
 * A sonic-boom sink (pino's own destination) for a file or a descriptor. Files are written
 * synchronously once `bufferBytes` gather, as `pino.destination()` does: every line of a process
 * that exits is on disk in order. Descriptors (stdout, a pipe) are written asynchronously, so a
 * reader that stops reading never blocks a request: the buffer fills to `maxBufferBytes` and
 * further lines are dropped and counted.
 */
export class SonicSink implements Sink {
  readonly events = new EventEmitter()
  readonly #sonic: InstanceType<typeof Sonic>
  readonly #file: boolean
  #dropped = false
  #waiting = false
  #deadline = 0

  constructor(target: { file: string; mkdir: boolean } | { fd: number }, bounds: BufferBounds) {
    const file = 'file' in target
    this.#file = file
    this.#sonic = new Sonic({
      ...(file ? { dest: target.file, mkdir: target.mkdir, sync: true } : { fd: target.fd, sync: false }),
      append: true,
      minLength: bounds.bufferBytes,
      maxLength: bounds.maxBufferBytes,
      periodicFlush: bounds.flushIntervalMs,
      // Retry a busy descriptor, except past the deadline of a synchronous flush at shutdown.
      retryEAGAIN: () => this.#deadline === 0 || Date.now() < this.#deadline,
    })
    this.#sonic.on('drop', () => {
      this.#dropped = true
    })
    this.#sonic.on('error', (err: Error) => this.events.emit('error', err))
    this.#sonic.on('write', () => {
      if (!this.#waiting) return
      this.#waiting = false
      this.events.emit('room')
    })
  }

  write(line: string): boolean {
    this.#dropped = false
    try {
      this.#sonic.write(line)
    } catch (err) {
      this.events.emit('error', err)
      return false
    }
    if (!this.#dropped) return true
    this.#waiting = true
    return false
  }

  flush(): Promise<void> {
    const sonic = this.#sonic
    if (sonic.destroyed) return Promise.resolve()
    return new Promise((resolve) => {
      try {
        sonic.flush(() => resolve())
      } catch {
        resolve()
      }
    })
  }

  flushSync(timeoutMs: number): void {
    const sonic = this.#sonic
    if (sonic.destroyed || sonic.fd < 0) return
    this.#deadline = Date.now() + timeoutMs
    try {
      sonic.flushSync()
    } catch (err) {
      this.events.emit('error', err)
    } finally {
      this.#deadline = 0
    }
  }

  reopen(): void {
    if (this.#file) this.#sonic.reopen()
  }

  end(): Promise<void> {
    const sonic = this.#sonic
    if (sonic.destroyed) return Promise.resolve()
    return new Promise((resolve) => {
      sonic.once('close', () => resolve())
      sonic.once('error', () => resolve())
      sonic.end()
    })
  }
}

/**
 * A sink over any stream (a pino transport, a socket): lines go straight to the stream while it
 * takes them; while it pushes back, they wait in a buffer of at most `maxBufferBytes`, and
 * further lines are dropped and counted.
 */
export class StreamSink implements Sink {
  readonly events = new EventEmitter()
  readonly #stream: AuditStream
  readonly #max: number
  #queue: string[] = []
  #queued = 0
  #blocked = false
  #failed = false

  constructor(stream: AuditStream, bounds: BufferBounds) {
    this.#stream = stream
    this.#max = bounds.maxBufferBytes
    stream.on('drain', () => this.#drain())
    stream.on('error', (err: unknown) => {
      this.#failed = true
      this.events.emit('error', err)
    })
  }

  write(line: string): boolean {
    if (this.#failed) return false
    if (this.#blocked) {
      if (this.#queued + line.length > this.#max) return false
      this.#queue.push(line)
      this.#queued += line.length
      return true
    }
    try {
      if (!this.#stream.write(line)) this.#blocked = true
    } catch (err) {
      this.#failed = true
      this.events.emit('error', err)
      return false
    }
    return true
  }

  #drain(): void {
    this.#blocked = false
    while (this.#queue.length > 0 && !this.#blocked) {
      const line = this.#queue.shift()!
      this.#queued -= line.length
      if (!this.#stream.write(line)) this.#blocked = true
    }
    if (this.#queue.length === 0) this.events.emit('room')
  }

  async flush(): Promise<void> {
    if (this.#queue.length === 0) return
    await new Promise<void>((resolve) => this.events.once('room', resolve))
  }

  flushSync(): void {
    if (this.#failed) return
    for (const line of this.#queue) this.#stream.write(line)
    this.#queue = []
    this.#queued = 0
    try {
      this.#stream.flushSync?.()
    } catch (err) {
      this.events.emit('error', err)
    }
  }

  reopen(): void {}

  async end(): Promise<void> {
    this.flushSync()
    const stream = this.#stream
    if (typeof stream.end !== 'function') return
    await new Promise<void>((resolve) => {
      // Some streams call back from end() (a Writable), others only emit (a pino transport).
      const timer = setTimeout(resolve, 5000)
      timer.unref()
      const done = () => {
        clearTimeout(timer)
        resolve()
      }
      stream.on('finish', done)
      stream.on('close', done)
      stream.end!(done)
    })
  }
}
