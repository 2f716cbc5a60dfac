import { BlockList, isIP } from 'node:net'
import { CidrSet, parseIp } from '@apiward/core'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'

// Core's IP parser and CIDR matcher decide who shares a rate-limit bucket and who passes an
// ipFilter(): they are checked here against Node's own (`isIP`, `BlockList`) over generated input.

const RUNS = { numRuns: 3000 }

/** Text near an IP address: digits, hex letters, dots and colons in any order. */
const nearIp = fc
  .array(fc.constantFrom(...'0123456789abcdefABCDEF.:'.split('')), { minLength: 1, maxLength: 45 })
  .map((chars) => chars.join(''))

/** A valid address with one character changed, dropped or doubled. */
const mutated = fc
  .tuple(fc.oneof(fc.ipV4(), fc.ipV6()), fc.nat(), fc.constantFrom(...'0fF.:g'.split('')), fc.nat(2))
  .map(([ip, at, c, op]) => {
    const i = at % ip.length
    return op === 0
      ? ip.slice(0, i) + c + ip.slice(i + 1)
      : op === 1
        ? ip.slice(0, i) + ip.slice(i + 1)
        : ip.slice(0, i) + ip[i] + ip.slice(i)
  })

const candidates = fc.oneof(fc.ipV4(), fc.ipV6(), fc.ipV4Extended(), nearIp, mutated)

const familyOf = (ip: string) => (isIP(ip) === 4 ? 'ipv4' : 'ipv6')

/** The IPv4 address an IPv4-mapped IPv6 address carries, as core counts it; other addresses as they are. */
function asCoreCounts(ip: string): { address: string; family: 'ipv4' | 'ipv6' } {
  const parsed = parseIp(ip)
  if (parsed?.version === 4 && isIP(ip) === 6) {
    const v = parsed.value
    return { address: `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`, family: 'ipv4' }
  }
  return { address: ip, family: familyOf(ip) }
}

describe('core IP parsing against node:net isIP', () => {
  it('accepts exactly the addresses Node accepts', () => {
    fc.assert(
      fc.property(candidates, (text) => {
        expect([text, parseIp(text) !== undefined]).toEqual([text, isIP(text) !== 0])
      }),
      RUNS,
    )
  })

  it('reads every IPv6 address as the address Node reads, an IPv4-mapped one as the IPv4 it carries', () => {
    fc.assert(
      fc.property(fc.ipV6(), (text) => {
        const parsed = parseIp(text)!
        const spelled =
          parsed.version === 6
            ? parsed.groups.map((g) => g.toString(16)).join(':')
            : `::ffff:${asCoreCounts(text).address}`
        const blocks = new BlockList()
        blocks.addAddress(text, 'ipv6')
        expect([text, blocks.check(spelled, 'ipv6')]).toEqual([text, true])
      }),
      RUNS,
    )
  })
})

describe('core CidrSet against node:net BlockList', () => {
  const v4Range = fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 32 }))
  const v6Range = fc
    .tuple(fc.ipV6(), fc.integer({ min: 0, max: 128 }))
    .filter(([net]) => parseIp(net)?.version === 6)

  it('matches an IPv4 address against an IPv4 range exactly as BlockList does', () => {
    fc.assert(
      fc.property(v4Range, fc.ipV4(), ([net, prefix], ip) => {
        const blocks = new BlockList()
        blocks.addSubnet(net, prefix, 'ipv4')
        const set = new CidrSet([`${net}/${prefix}`], 'test')
        expect(set.hasAddress(ip)).toBe(blocks.check(ip, 'ipv4'))
      }),
      RUNS,
    )
  })

  it('matches an address inside its own network for every prefix', () => {
    fc.assert(
      fc.property(fc.oneof(v4Range, v6Range), ([net, prefix]) => {
        const set = new CidrSet([`${net}/${prefix}`], 'test')
        expect(set.hasAddress(net)).toBe(true)
      }),
      RUNS,
    )
  })

  it('matches an IPv6 address against an IPv6 range exactly as BlockList does', () => {
    const nearby = (net: string) =>
      fc.tuple(fc.nat(7), fc.integer({ min: 0, max: 0xffff })).map(([group, value]) => {
        const groups = parseIp(net) as { groups: number[] }
        const copy = [...groups.groups]
        copy[group] = value
        return copy.map((g) => g.toString(16)).join(':')
      })
    fc.assert(
      fc.property(
        v6Range.chain(([net, prefix]) =>
          fc.tuple(fc.constant(net), fc.constant(prefix), fc.oneof(fc.ipV6(), nearby(net))),
        ),
        ([net, prefix, ip]) => {
          const blocks = new BlockList()
          blocks.addSubnet(net, prefix, 'ipv6')
          const set = new CidrSet([`${net}/${prefix}`], 'test')
          const { address, family } = asCoreCounts(ip)
          // Core counts an IPv4-mapped client as its IPv4 address, which no IPv6 range holds.
          const expected = family === 'ipv4' ? false : blocks.check(address, 'ipv6')
          expect([net, prefix, ip, set.hasAddress(ip)]).toEqual([net, prefix, ip, expected])
        },
      ),
      RUNS,
    )
  })

  it('holds an IPv4-mapped client in the IPv4 range of the address it carries', () => {
    fc.assert(
      fc.property(v4Range, fc.ipV4(), ([net, prefix], ip) => {
        const blocks = new BlockList()
        blocks.addSubnet(net, prefix, 'ipv4')
        const set = new CidrSet([`${net}/${prefix}`], 'test')
        expect(set.hasAddress(`::ffff:${ip}`)).toBe(blocks.check(ip, 'ipv4'))
      }),
      RUNS,
    )
  })
})
