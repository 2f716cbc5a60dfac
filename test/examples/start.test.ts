import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

const ROOT = join(import.meta.dirname, '..', '..')
const EXAMPLES = ['express', 'koa', 'fastify', 'hono'] as const
const READY = /^notes API \((\w+)\) listening on (http:\/\/127\.0\.0\.1:\d+)$/m

const scratch = mkdtempSync(join(tmpdir(), 'apiward-examples-'))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

interface Started {
  child: ChildProcess
  url: string
  name: string
  output: () => string
}

/** Runs the example's `start` script as pnpm would (`sh -c` in its folder), on a free port. */
async function start(example: string, env: Record<string, string>): Promise<Started> {
  const manifest = JSON.parse(readFileSync(join(ROOT, 'examples', example, 'package.json'), 'utf8'))
  const child = spawn('sh', ['-c', manifest.scripts.start], {
    cwd: join(ROOT, 'examples', example),
    env: { ...process.env, HOST: '127.0.0.1', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString()
  })
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString()
  })
  const ready = await new Promise<RegExpExecArray>((resolve, reject) => {
    const check = () => {
      const match = READY.exec(output)
      if (match) resolve(match)
    }
    child.stdout?.on('data', check)
    child.once('exit', (code) => reject(new Error(`${example} exited with ${code} before ready:\n${output}`)))
  })
  return { child, name: ready[1]!, url: ready[2]!, output: () => output }
}

describe.sequential('each example started by its start script', () => {
  for (const example of EXAMPLES) {
    it(`${example} logs its ready line, answers GET /health and exits 0 on SIGTERM with its audit log closed`, async () => {
      const auditFile = join(scratch, `${example}.log`)
      const app = await start(example, { AUDIT_LOG: auditFile })
      try {
        expect(app.name).toBe(example)
        const res = await fetch(`${app.url}/health`, { headers: { connection: 'close' } })
        expect(res.status).toBe(200)
        expect(res.headers.get('content-type')).toMatch(/^application\/json/)
        expect(res.headers.get('x-content-type-options')).toBe('nosniff')
        expect(res.headers.get('ratelimit-policy')).toBeNull()
        expect(await res.json()).toEqual({ status: 'ok' })

        const unknown = await fetch(`${app.url}/NOTES`, { headers: { connection: 'close' } })
        expect(unknown.status).toBe(404)
        expect(unknown.headers.get('content-type')).toMatch(/^application\/problem\+json/)
        expect(unknown.headers.get('ratelimit-policy')).toBe('"anonymous";q=100;w=60')
      } finally {
        app.child.kill('SIGTERM')
      }
      const [code, signal] = await once(app.child, 'exit')
      expect({ code, signal }).toEqual({ code: 0, signal: null })

      const lines = readFileSync(auditFile, 'utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line))
      const completed = lines.filter((line) => line.event === 'request.completed')
      expect(completed.map((line) => [line.method, line.status])).toEqual([
        ['GET', 200],
        ['GET', 404],
      ])
      expect(lines.at(-1).event).toBe('audit.chain_closed')
    }, 60_000)
  }
})

describe('an example stopping', () => {
  it('answers the request in flight, writes its request.completed line and exits 0 on SIGINT', async () => {
    const auditFile = join(scratch, 'sigint.log')
    const app = await start('koa', { AUDIT_LOG: auditFile })
    const body = JSON.stringify({ username: 'alice', password: 'alice-password-1' })
    const req = request(`${app.url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    })
    const answered = new Promise<{ status: number; text: string }>((resolve, reject) => {
      req.on('response', (res) => {
        let text = ''
        res.on('data', (chunk: Buffer) => {
          text += chunk.toString()
        })
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }))
      })
      req.on('error', reject)
    })
    // Half the body sent: the server holds a request in flight when the signal arrives.
    req.write(body.slice(0, 10))
    await once(req, 'socket')
    await new Promise((resolve) => setTimeout(resolve, 200))
    app.child.kill('SIGINT')
    await new Promise((resolve) => setTimeout(resolve, 200))
    req.end(body.slice(10))
    const answer = await answered
    expect(answer.status).toBe(200)
    expect(JSON.parse(answer.text)).toEqual({ sub: 'alice' })
    const [code] = await once(app.child, 'exit')
    expect(code).toBe(0)
    const lines = readFileSync(auditFile, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line))
    expect(lines.filter((line) => line.event === 'request.completed').map((line) => line.status)).toEqual([
      200,
    ])
    expect(JSON.stringify(lines)).not.toContain('alice-password-1')
  }, 60_000)
})

describe('a misconfigured example', () => {
  it('refuses to start and names the variable to fix', async () => {
    const child = spawn(process.execPath, ['server.js'], {
      cwd: join(ROOT, 'examples', 'express'),
      env: { ...process.env, PORT: '0', RATE_LIMIT_POINTS: 'many' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    const [code] = await once(child, 'exit')
    expect(code).not.toBe(0)
    expect(stderr).toContain('RATE_LIMIT_POINTS must be a whole number')
  }, 30_000)
})
