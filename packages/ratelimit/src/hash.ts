import { hash } from 'node:crypto'

/**
 * The store key of a secret or personal value (API key, principal, username): a SHA-256 digest,
 * so a store dump or a `MONITOR` session never shows credentials, and keys have a bounded length
 * whatever the client sent.
 */
export function hashKey(value: string): string {
  return hash('sha256', value, 'base64url')
}
