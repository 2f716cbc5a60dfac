import { BoundedMap } from './bounded-map.js'

/**
 * A bounded cache of verified tokens, keyed by the whole token: the `Map` compares every
 * character, so a token that only shares the signature's tail with a cached one never hits.
 * Measured on these machines, a hit keyed by the full token (its hash computed once per request)
 * costs less than slicing a shorter key out of it. Eviction is {@link BoundedMap}'s CLOCK rule.
 * Entries are re-validated by the caller on every hit; the cache only spares the signature check.
 */
export class TokenCache<V> extends BoundedMap<string, V> {}
