// Prints a JWT signed with the bundled DEV-ONLY key (examples/keys), for trying the examples:
//   pnpm --dir examples token --sub alice --scope "notes:read notes:write" --roles user
import { createPrivateKey, sign } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'

const USAGE = `Usage: pnpm --dir examples token --sub <id> [--scope "a b"] [--roles "user admin"]
  [--iss <issuer>] [--aud <audience>] [--ttl <seconds>]
Signs with the development key in examples/keys (never trusted outside a dev setup).`

let values
try {
  ;({ values } = parseArgs({
    options: {
      sub: { type: 'string' },
      scope: { type: 'string', default: '' },
      roles: { type: 'string', default: '' },
      iss: { type: 'string', default: process.env.JWT_ISSUER || 'https://issuer.example.test/' },
      aud: { type: 'string', default: process.env.JWT_AUDIENCE || 'notes-api' },
      ttl: { type: 'string', default: '3600' },
      help: { type: 'boolean', default: false },
    },
  }))
} catch (err) {
  console.error(`${err.message}\n\n${USAGE}`)
  process.exit(2)
}
const ttl = Number(values.ttl)
if (values.help || !values.sub || !Number.isInteger(ttl) || ttl <= 0) {
  console.error(USAGE)
  process.exit(values.help ? 0 : 2)
}

const jwk = JSON.parse(readFileSync(new URL('./keys/dev-private.jwk.json', import.meta.url), 'utf8'))
const words = (value) => value.split(/[\s,]+/).filter((word) => word.length > 0)
const now = Math.floor(Date.now() / 1000)
const header = { alg: 'ES256', typ: 'JWT', kid: jwk.kid }
const payload = {
  iss: values.iss,
  aud: values.aud,
  sub: values.sub,
  iat: now,
  exp: now + ttl,
  scope: words(values.scope).join(' '),
  roles: words(values.roles),
}
const encode = (value) => Buffer.from(JSON.stringify(value)).toString('base64url')
const input = `${encode(header)}.${encode(payload)}`
const { kid: _kid, alg: _alg, use: _use, ...keyJwk } = jwk
const signature = sign('sha256', Buffer.from(input), {
  key: createPrivateKey({ key: keyJwk, format: 'jwk' }),
  dsaEncoding: 'ieee-p1363',
})
console.log(`${input}.${signature.toString('base64url')}`)
