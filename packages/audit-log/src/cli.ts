#!/usr/bin/env node
import { closeSync, fstatSync, openSync, readSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { formatLine } from './tail.js'
import { type ChainAnchor, verifyFiles } from './verify.js'

const USAGE = `Usage:
  apiward-audit verify [--key-env NAME] [--anchor CHAIN:N:HASH]... [--live] <file...>
      Verifies audit files as one chain, oldest first (rotated files in order). Exits 1 and
      names the first altered, reordered, inserted or missing line by file and line number.
  apiward-audit tail [-n LINES] [file]
      Prints the last lines of a file (or stdin) as readable, escaped text.`

function argValue(args: string[], i: number, flag: string): string {
  const value = args[i + 1]
  if (value === undefined) throw new Error(`${flag} needs a value`)
  return value
}

function verify(args: string[]): number {
  const files: string[] = []
  const anchors: ChainAnchor[] = []
  let key: string | undefined
  let live = false
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    if (arg === '--key-env') {
      const name = argValue(args, i++, arg)
      key = process.env[name]
      if (key === undefined || key === '') throw new Error(`--key-env ${name}: the variable is not set`)
    } else if (arg === '--anchor') {
      const match = /^([A-Za-z0-9_-]+):(\d+):([0-9a-f]{64})$/.exec(argValue(args, i++, arg))
      if (match === null) throw new Error('--anchor takes CHAIN:N:HASH, as onCheckpoint received it')
      anchors.push({ chain: match[1]!, n: Number(match[2]), hash: match[3]! })
    } else if (arg === '--live') live = true
    else if (arg.startsWith('-')) throw new Error(`unknown option ${arg}`)
    else files.push(arg)
  }
  if (files.length === 0) throw new Error('verify needs at least one file')
  const result = verifyFiles(files, { key, anchors, live })
  if (result.ok) {
    process.stdout.write(
      `ok: ${result.lines} lines, ${result.chains.length} chain(s) in ${files.length} file(s)\n`,
    )
    return 0
  }
  process.stdout.write(`FAILED ${result.problem!.kind}: ${result.problem!.message}\n`)
  return 1
}

/** The last `count` lines of a file, read backwards in chunks: a large log is not read whole. */
function lastLines(file: string, count: number): string[] {
  const fd = openSync(file, 'r')
  try {
    let position = fstatSync(fd).size
    const chunks: Buffer[] = []
    let newlines = 0
    // Whole lines only: read until the chunks hold more newlines than lines wanted.
    while (position > 0 && newlines <= count) {
      const length = Math.min(64 * 1024, position)
      position -= length
      const chunk = Buffer.alloc(length)
      readSync(fd, chunk, 0, length, position)
      chunks.unshift(chunk)
      for (const byte of chunk) if (byte === 0x0a) newlines++
    }
    const lines = Buffer.concat(chunks).toString('utf8').split('\n')
    // The first piece may be the end of a line that started before what was read.
    if (position > 0) lines.shift()
    const whole = lines.filter((l) => l !== '')
    return whole.slice(Math.max(0, whole.length - count))
  } finally {
    closeSync(fd)
  }
}

async function tail(args: string[]): Promise<number> {
  let count = 20
  let file: string | undefined
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    if (arg === '-n') {
      count = Number(argValue(args, i++, arg))
      if (!Number.isInteger(count) || count < 0) throw new Error('-n takes a number of lines')
    } else if (arg.startsWith('-')) throw new Error(`unknown option ${arg}`)
    else file = arg
  }
  if (file !== undefined) {
    for (const line of lastLines(file, count)) process.stdout.write(`${formatLine(line)}\n`)
    return 0
  }
  const input = createInterface({ input: process.stdin })
  for await (const line of input) if (line !== '') process.stdout.write(`${formatLine(line)}\n`)
  return 0
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  if (command === 'verify') return verify(rest)
  if (command === 'tail') return tail(rest)
  process.stderr.write(`${USAGE}\n`)
  return command === undefined || command === '--help' || command === '-h' ? 0 : 2
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (err: unknown) => {
    process.stderr.write(`apiward-audit: ${err instanceof Error ? err.message : String(err)}\n${USAGE}\n`)
    process.exitCode = 2
  },
)
