import { type Principal, securityEvents } from '@apiward/core'
import { ApiError, toProblem } from '@apiward/errors'
import { errorHandler, guard } from '@apiward/express'
import express from 'express'

const app = express()
app.get('/me', guard(), (req, res) => {
  const who: Principal | undefined = req.auth
  res.json({ id: who?.id ?? null })
})
app.use(errorHandler())
securityEvents.on((event) => event.type)
export const problem = toProblem(new ApiError(418, { code: 'teapot' })).body.code
