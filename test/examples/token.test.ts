import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { createLocalJWKSet, jwtVerify } from 'jose'
import { describe, expect, it } from 'vitest'

const run = promisify(execFile)
const EXAMPLES = join(import.meta.dirname, '..', '..', 'examples')
const jwks = createLocalJWKSet(JSON.parse(readFileSync(join(EXAMPLES, 'keys', 'dev-jwks.json'), 'utf8')))

describe('the token script of the examples', () => {
  it('prints an ES256 token of the dev key with the subject, scopes, roles, issuer and audience asked for', async () => {
    const { stdout } = await run(
      process.execPath,
      ['token.js', '--sub', 'alice', '--scope', 'notes:read notes:write', '--roles', 'user'],
      { cwd: EXAMPLES, env: { ...process.env, JWT_ISSUER: '', JWT_AUDIENCE: '' } },
    )
    const { payload, protectedHeader } = await jwtVerify(stdout.trim(), jwks, {
      issuer: 'https://issuer.example.test/',
      audience: 'notes-api',
      algorithms: ['ES256'],
    })
    expect(protectedHeader).toMatchObject({ alg: 'ES256', kid: 'apiward-dev-es256' })
    expect(payload).toMatchObject({ sub: 'alice', scope: 'notes:read notes:write', roles: ['user'] })
    expect(payload.exp! - payload.iat!).toBe(3600)
  })

  it('refuses to sign without a subject and says how to call it', async () => {
    const failed = await run(process.execPath, ['token.js', '--scope', 'notes:read'], {
      cwd: EXAMPLES,
    }).catch((err: { code: number; stderr: string }) => err)
    expect(failed).toMatchObject({ code: 2 })
    expect((failed as { stderr: string }).stderr).toContain('Usage: pnpm --dir examples token --sub <id>')
  })
})
