// The keys, tokens and casbin files every benchmark server is built from, written once per run.
import { randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { exportJWK, exportSPKI, generateKeyPair, SignJWT } from 'jose'
import { AUDIENCE, ISSUER, SUBJECT } from './stacks.mjs'

const CASBIN_MODEL = `[request_definition]
r = sub, obj, act

[policy_definition]
p = sub, obj, act

[role_definition]
g = _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = g(r.sub, p.sub) && r.obj == p.obj && r.act == p.act
`

const CASBIN_POLICY = `p, admin, /hello, GET
p, admin, /hello, POST
p, admin, /admin, GET
p, reader, /hello, GET
p, reader, /notes, GET
p, writer, /notes, POST
g, ${SUBJECT}, reader
g, bob, writer
g, carol, admin
`

/** Writes the fixtures into `dir`; returns the config file the servers read and the tokens wrk sends. */
export async function fixtures(dir, redisPort) {
  const keys = {}
  const tokens = {}
  for (const alg of ['ES256', 'RS256']) {
    const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true })
    const kid = `bench-${alg.toLowerCase()}`
    const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' }
    keys[alg] = { jwk, pem: await exportSPKI(publicKey) }
    tokens[alg] = await new SignJWT({ scope: 'notes:read' })
      .setProtectedHeader({ alg, kid, typ: 'JWT' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setSubject(SUBJECT)
      .setIssuedAt()
      .setExpirationTime('24h')
      .sign(privateKey)
  }
  // An opaque access token: what the introspection stacks authenticate.
  tokens.opaque = randomBytes(32).toString('base64url')
  const casbin = { model: join(dir, 'rbac_model.conf'), policy: join(dir, 'rbac_policy.csv') }
  writeFileSync(casbin.model, CASBIN_MODEL)
  writeFileSync(casbin.policy, CASBIN_POLICY)
  const config = join(dir, 'config.json')
  writeFileSync(config, JSON.stringify({ keys, casbin, redisPort, tokens }))
  return { config, tokens }
}
