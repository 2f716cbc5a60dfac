import { context, type RequestSpec } from '../../../test/support/guard-context.js'

export {
  context,
  denial,
  outcome,
  type RequestSpec,
  type TestContext,
} from '../../../test/support/guard-context.js'

/** A context whose request carries `Authorization: Bearer <token>`. */
export const withToken = (token: string, spec: RequestSpec = {}) =>
  context({
    ...spec,
    headers: { authorization: `Bearer ${token}`, ...(spec.headers as Record<string, string>) },
  })
