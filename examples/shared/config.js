// The reference API's settings, read once from the environment. A wrong value stops the process at
// startup with a message naming the variable, never a half-configured server.
import { readFileSync } from 'node:fs'

const DEFAULTS = {
  HOST: '127.0.0.1',
  PORT: '3000',
  JWT_ISSUER: 'https://issuer.example.test/',
  JWT_AUDIENCE: 'notes-api',
  // DEV ONLY: the contract's default key; set REPORTS_API_KEY in any deployment.
  REPORTS_API_KEY: 'ak_dev_reports_0123456789abcdef0123',
  RATE_LIMIT_POINTS: '100',
  RATE_LIMIT_DURATION: '60',
  TRUST_PROXY: '0',
}

function wholeNumber(env, name, min, max) {
  const raw = env[name] ?? DEFAULTS[name]
  const value = Number(raw)
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new TypeError(`${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(raw)}`)
  }
  return value
}

function clusterNodes(raw) {
  return raw
    .split(',')
    .map((seed) => seed.trim())
    .filter((seed) => seed !== '')
    .map((seed) => {
      const match = /^(\[[0-9a-fA-F:]+\]|[^:\s]+):(\d{1,5})$/.exec(seed)
      if (!match) {
        throw new TypeError(
          `REDIS_CLUSTER_NODES must be comma-separated host:port seeds, got ${JSON.stringify(seed)}`,
        )
      }
      return { host: match[1].replace(/^\[|\]$/g, ''), port: Number(match[2]) }
    })
}

/**
 * @typedef {object} Settings
 * @property {string} host
 * @property {number} port
 * @property {string | undefined} jwksUrl
 * @property {{ keys: object[] }} devJwks
 * @property {string} issuer
 * @property {string} audience
 * @property {string} reportsApiKey
 * @property {number} points
 * @property {number} duration
 * @property {string | undefined} redisUrl
 * @property {{ host: string, port: number }[] | undefined} redisClusterNodes
 * @property {string | undefined} auditFile
 * @property {number} trustProxy
 */

/** @returns {Settings} */
export function readSettings(env = process.env) {
  const reportsApiKey = env.REPORTS_API_KEY ?? DEFAULTS.REPORTS_API_KEY
  if (reportsApiKey.length < 16 || !/^[\x21-\x7e]+$/.test(reportsApiKey)) {
    throw new TypeError('REPORTS_API_KEY must be at least 16 printable characters without spaces')
  }
  const nodes = env.REDIS_CLUSTER_NODES?.trim() ? clusterNodes(env.REDIS_CLUSTER_NODES) : undefined
  if (nodes !== undefined && nodes.length === 0)
    throw new TypeError('REDIS_CLUSTER_NODES lists no host:port seed')
  return {
    host: env.HOST || DEFAULTS.HOST,
    port: wholeNumber(env, 'PORT', 0, 65535),
    jwksUrl: env.JWKS_URL || undefined,
    devJwks: JSON.parse(readFileSync(new URL('../keys/dev-jwks.json', import.meta.url), 'utf8')),
    issuer: env.JWT_ISSUER || DEFAULTS.JWT_ISSUER,
    audience: env.JWT_AUDIENCE || DEFAULTS.JWT_AUDIENCE,
    reportsApiKey,
    points: wholeNumber(env, 'RATE_LIMIT_POINTS', 1, 1e9),
    duration: wholeNumber(env, 'RATE_LIMIT_DURATION', 1, 31_536_000),
    redisUrl: nodes === undefined ? env.REDIS_URL || undefined : undefined,
    redisClusterNodes: nodes,
    auditFile: env.AUDIT_LOG || undefined,
    trustProxy: wholeNumber(env, 'TRUST_PROXY', 0, 100),
  }
}

/**
 * The settings, or a one-line message naming the variable to fix and exit code 1: a
 * misconfigured server never starts.
 * @returns {Settings}
 */
export function loadSettings(env = process.env) {
  try {
    return readSettings(env)
  } catch (err) {
    if (!(err instanceof TypeError)) throw err
    console.error(`notes API: ${err.message}`)
    process.exit(1)
  }
}
