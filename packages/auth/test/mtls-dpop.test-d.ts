import {
  anyOf,
  type ClientCertificate,
  type CredentialGuard,
  type DpopPolicy,
  dpop,
  introspection,
  jwt,
  kClientCertificate,
  type MtlsGuard,
  memoryDpopReplayStore,
  mtls,
  redisDpopReplayStore,
} from '@apiward/auth'
import type { StateKey } from '@apiward/core'
import { describe, expectTypeOf, it } from 'vitest'

const keys = { secret: 's'.repeat(32), issuer: 'https://id.example/', audience: 'api' }

describe('mtls() and dpop() types', () => {
  it('makes mtls() a credential guard that anyOf() accepts', () => {
    expectTypeOf(mtls()).toEqualTypeOf<MtlsGuard>()
    expectTypeOf(mtls()).toExtend<CredentialGuard>()
    expectTypeOf(anyOf(mtls(), jwt(keys))).toEqualTypeOf<CredentialGuard>()
  })

  it('types the accepted certificate under kClientCertificate', () => {
    expectTypeOf(kClientCertificate).toEqualTypeOf<StateKey<ClientCertificate>>()
    expectTypeOf<ClientCertificate['thumbprint']>().toEqualTypeOf<string>()
  })

  it('lets a lookup answer a principal, undefined, or a promise of either', () => {
    mtls({ lookup: () => ({ id: 'svc' }) })
    mtls({
      lookup: async (cert) => (cert.uris.includes('spiffe://x') ? { id: 'x', scopes: ['a'] } : undefined),
    })
    // @ts-expect-error a lookup answers a principal with an id, not a boolean
    mtls({ lookup: () => true })
  })

  it('refuses an unknown mode or principal source at compile time', () => {
    // @ts-expect-error 'pki' or 'self-signed'
    mtls({ mode: 'ca' })
    // @ts-expect-error one of the listed sources
    mtls({ principalFrom: 'cn' })
  })

  it('requires the origin of dpop() and returns a policy for jwt() and introspection()', () => {
    expectTypeOf(dpop({ origin: 'https://api.example' })).toEqualTypeOf<DpopPolicy>()
    // @ts-expect-error origin is required
    dpop({})
    // @ts-expect-error proofs are signed with asymmetric algorithms
    dpop({ origin: 'https://api.example', algorithms: ['none'] })
    const policy = dpop({ origin: 'https://api.example', replay: memoryDpopReplayStore() })
    jwt({ ...keys, dpop: policy, certificateBinding: { required: true } })
    introspection({
      issuer: 'https://id.example/',
      clientId: 'api',
      clientAuthentication: { method: 'client_secret_basic', clientSecret: 's' },
      audience: 'api',
      dpop: policy,
    })
  })

  it('takes an ioredis or node-redis client for the shared replay store', () => {
    const client = { set: async (_key: string, _value: string, ..._options: unknown[]) => 'OK' }
    expectTypeOf(redisDpopReplayStore({ client }).use).returns.toEqualTypeOf<boolean | Promise<boolean>>()
  })
})
