export {
  context,
  outcome as outcomeOf,
  principal,
  type RequestSpec,
  type TestContext,
} from '../../../test/support/guard-context.js'
