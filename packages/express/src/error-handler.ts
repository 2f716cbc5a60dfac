import { type AdapterOptions, checkAdapterOptions, unmatchedRoute } from '@apiward/core/adapter'
import type {
  Application,
  ErrorRequestHandler,
  NextFunction,
  Request,
  RequestHandler,
  Response,
} from 'express'
import { sendProblem } from './context.js'

interface Layer {
  route?: { methods: Record<string, boolean> }
  handle?: { stack?: Layer[] }
  path?: string
  /** Express 4 returns a boolean and sets `path`; Express 5 (router 2) returns the match. */
  match(path: string): boolean | { path: string } | undefined
}

function collectMethods(stack: readonly Layer[], path: string, out: Set<string>): void {
  for (const layer of stack) {
    if (layer.route !== undefined) {
      if (!layer.match(path)) continue
      for (const [method, on] of Object.entries(layer.route.methods)) {
        if (on && method !== '_all') out.add(method)
      }
    } else if (layer.handle?.stack !== undefined) {
      const match = layer.match(path)
      if (!match) continue
      const prefix = (typeof match === 'object' ? match.path : layer.path) ?? ''
      collectMethods(layer.handle.stack, path.slice(prefix.length) || '/', out)
    }
  }
}

/** The methods the app's routes accept for a path. */
function allowedMethods(app: Application, path: string): string[] {
  const router = app as unknown as { _router?: { stack: Layer[] }; router?: { stack: Layer[] } }
  const stack = router._router?.stack ?? router.router?.stack
  if (stack === undefined) return []
  const found = new Set<string>()
  try {
    collectMethods(stack, path, found)
  } catch {
    return []
  }
  return [...found]
}

/**
 * The last middleware of an app: answers unknown routes with a 404 problem (405 with `Allow`
 * when the path has routes for other methods, 204 with `Allow` when such a request is an
 * `OPTIONS`; a route of the request's own method that passed it on leaves a 404) and renders
 * every error as problem+json: `ApiError`s as they are, body-parser errors as 400 / 413 / 415,
 * anything else as a generic 500 whose body reveals nothing (the error goes to
 * `onUnexpectedError`).
 *
 * It returns two middlewares as one array; install it after your routes with `app.use()`.
 *
 * @example
 * ```ts
 * app.use(express.json({ limit: '64kb' }))
 * app.get('/notes', guard(jwt(opts)), listNotes)
 * app.use(errorHandler())
 * ```
 */
export function errorHandler(options: AdapterOptions = {}): [RequestHandler, ErrorRequestHandler] {
  checkAdapterOptions(options, 'errorHandler()')
  const notFound: RequestHandler = (req: Request, res: Response) => {
    sendProblem(req, res, unmatchedRoute(req.method, allowedMethods(req.app, req.path)), options)
  }
  const onError: ErrorRequestHandler = (err: unknown, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) {
      next(err)
      return
    }
    sendProblem(req, res, err, options)
  }
  return [notFound, onError]
}
