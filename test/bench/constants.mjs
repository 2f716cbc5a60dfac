// The route every server answers, and the identities its tokens carry.

export const FRAMEWORKS = ['express', 'koa', 'fastify', 'hono']

/** The route every server registers, and the request the load generators send, unless a stack names its own. */
export const ROUTE = '/hello'
export const PATH = '/hello?limit=10'

/** The body every stack answers with; the smoke check compares it exactly. */
export const BODY = { message: 'hello', limit: 10, items: [1, 2, 3] }

export const ISSUER = 'https://issuer.bench.test/'
export const AUDIENCE = 'https://api.bench.test'
export const SUBJECT = 'alice'
