/**
 * The adapter kit: what every framework adapter shares, so an adapter is only its framework's
 * glue. Guards and their users need only `@apiward/core`; this subpath is for adapter authors
 * (docs/adapters.md#writing-an-adapter).
 */

export { NodeSecurityRequest } from '../node/request.js'
export type { ProxyTrust, TlsInfo } from '../request.js'
export { type BodyStream, readRawBody } from './body.js'
export {
  type ClientErrorListener,
  type ClientErrorOptions,
  type ClientErrorSource,
  handleClientErrors,
} from './client-errors.js'
export { type BodyFacts, emptyJsonBodyError } from './empty-json-body.js'
export {
  createFetchContext,
  FetchBinding,
  type FetchReader,
  FetchRequest,
  type FetchServerFacts,
  finishResponse,
  outcomeResponse,
  readWebBody,
  socketAddress,
} from './fetch.js'
export {
  bodyKindOf,
  configureFetch,
  type FetchAdapterOptions,
  type FetchConfiguration,
  type FetchGuardOptions,
  type FetchMiddlewareHooks,
  fetchContextFor,
  fetchContextOf,
  fetchGuard,
  fetchHolder,
  fetchMiddleware,
  fetchParsedBody,
  finishOwned,
  type HttpException,
  httpExceptionError,
  jsonText,
  type RequestErrorOptions,
  rememberCopy,
  requestErrorResponder,
} from './fetch-handler.js'
export { FrameworkRequest, frameworkOf, type RequestReader, replaceInput } from './framework-request.js'
export { checkHookLists, markHookLists } from './hook-lists.js'
export {
  type AdapterOptions,
  type Allowed,
  allowHeaderMethods,
  applyHeaderGuards,
  checkAdapterOptions,
  type Denied,
  forwardedHost,
  frameworkErrorToApiError,
  type GuardPhases,
  guardFailure,
  guardPhases,
  guardsIn,
  guardsOf,
  incomingRequestId,
  isJsonBody,
  logUnexpectedError,
  type MountedGuards,
  markGuards,
  optionsAllowHeader,
  proxyTrustOf,
  type RenderedOutcome,
  type RouteEntry,
  renderOutcome,
  renderProblem,
  routeEntries,
  runGuard,
  type TrustSetting,
  unansweredStatus,
  unmatchedRoute,
} from './kit.js'
export {
  contextFor,
  contextIn,
  createContext,
  hookWriteHead,
  hookWriteHeadInPrototype,
  NodeBinding,
  newContext,
  stateIn,
  WeakContexts,
  writeOutcome,
} from './node.js'
export { type MisplacedCode, warnEarlierRoutes, warnMisplaced } from './placement.js'
export {
  addGuardedRoute,
  appGuardsOption,
  codedFrameworkError,
  type HookedRoute,
  type RawBodyHooks,
  routingOf,
  slotReader,
  symbolSlot,
  trustSettingOf,
  warnWithoutPlugin,
} from './route-hooks.js'
export {
  lastRoutePath,
  layerMethods,
  type RouteTable,
  routerMethodError,
  tableMethods,
  tableRoutes,
} from './router.js'
export {
  compileTrustProxy,
  firstListValue,
  forwardedClientIp,
  proxyTrustOfFn,
  type TrustFn,
  type TrustProxy,
} from './trust-proxy.js'
