import type { Principal } from '@apiward/core'

export {
  context,
  denial,
  outcome,
  type RequestSpec,
  type TestContext,
} from '../../../test/support/guard-context.js'

/** A principal as `jwt()` establishes it, with what a test needs. */
export function user(id: string, more: Partial<Principal> = {}): Principal {
  return { id, kind: 'user', scopes: [], roles: [], claims: { sub: id }, credential: 'jwt', ...more }
}
