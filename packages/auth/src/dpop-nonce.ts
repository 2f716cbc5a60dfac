import { createHmac } from 'node:crypto'

/**
 * Server-provided DPoP nonces (RFC 9449 section 9) that need no shared state: a nonce is the
 * HMAC-SHA256 of the current time step under the first secret, so every instance with the same
 * secrets issues and accepts the same nonces. A nonce of the current or the previous step is
 * accepted, under any of the secrets, so a rotation (the new secret first, the old one second)
 * and a step change invalidate no proof in flight.
 */
export class DpopNonces {
  readonly #secrets: readonly string[]
  readonly #stepMs: number
  #step = Number.NaN
  #current = ''
  #valid = new Set<string>()

  constructor(secrets: readonly string[], stepSeconds: number) {
    this.#secrets = secrets
    this.#stepMs = stepSeconds * 1000
  }

  #refresh(): void {
    const step = Math.floor(Date.now() / this.#stepMs)
    if (step === this.#step) return
    const valid = new Set<string>()
    for (const secret of this.#secrets) {
      valid.add(nonceOf(secret, step))
      valid.add(nonceOf(secret, step - 1))
    }
    this.#current = nonceOf(this.#secrets[0]!, step)
    this.#valid = valid
    this.#step = step
  }

  /** The nonce to hand out now. */
  current(): string {
    this.#refresh()
    return this.#current
  }

  /** Whether a proof's nonce is one of the current or the previous step. */
  accepts(nonce: string): boolean {
    this.#refresh()
    return this.#valid.has(nonce)
  }
}

function nonceOf(secret: string, step: number): string {
  return createHmac('sha256', secret).update(`apiward.dpop-nonce.${step}`).digest('base64url')
}
