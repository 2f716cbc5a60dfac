import {
  CidrSet,
  clientAddress,
  ipKey,
  ipKeyOf,
  parseIPv4,
  parseIPv6,
  parseIp,
  stripPort,
} from '@apiward/core'
import { describe, expect, it } from 'vitest'

describe('IP parsing', () => {
  it('reads dotted quads and refuses malformed ones', () => {
    expect(parseIPv4('192.0.2.1')).toBe(0xc0000201)
    expect(parseIPv4('255.255.255.255')).toBe(0xffffffff)
    for (const bad of ['256.0.0.1', '1.2.3', '1.2.3.4.5', '01.2.3.4', '1..2.3', 'a.b.c.d', '', '1.2.3.4 ']) {
      expect(parseIPv4(bad), bad).toBeUndefined()
    }
  })

  it('reads IPv6 with compression, an IPv4 tail and a zone', () => {
    expect(parseIPv6('2001:db8::1')).toEqual([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1])
    expect(parseIPv6('::')).toEqual([0, 0, 0, 0, 0, 0, 0, 0])
    expect(parseIPv6('fe80::1%eth0')).toEqual([0xfe80, 0, 0, 0, 0, 0, 0, 1])
    expect(parseIPv6('::ffff:192.0.2.1')).toEqual([0, 0, 0, 0, 0, 0xffff, 0xc000, 0x201])
    expect(parseIPv6('2001:DB8:0:0:0:0:0:A')).toEqual([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0xa])
    for (const bad of ['1::2::3', '12345::', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', 'g::1', ':::']) {
      expect(parseIPv6(bad), bad).toBeUndefined()
    }
  })

  it('treats an IPv4-mapped IPv6 address as the IPv4 address it carries', () => {
    expect(parseIp('::ffff:192.0.2.1')).toEqual({ version: 4, value: 0xc0000201 })
    expect(parseIp('::ffff:c000:201')).toEqual({ version: 4, value: 0xc0000201 })
  })
})

describe('ipKey', () => {
  it('keeps IPv4 addresses and unwraps IPv4-mapped ones', () => {
    expect(ipKey('192.0.2.1', 64)).toBe('192.0.2.1')
    expect(ipKey('::ffff:192.0.2.1', 64)).toBe('192.0.2.1')
    expect(ipKey('::FFFF:c000:0201', 64)).toBe('192.0.2.1')
  })

  it('groups IPv6 addresses of one /64 and tells /64s apart', () => {
    const a = ipKey('2001:db8:1:2::1', 64)
    expect(ipKey('2001:db8:1:2:ffff:ffff:ffff:ffff', 64)).toBe(a)
    expect(ipKey('2001:0DB8:0001:0002:0:0:0:77', 64)).toBe(a)
    expect(ipKey('2001:db8:1:3::1', 64)).not.toBe(a)
  })

  it('drops the port a proxy appended, and has no key for text that is not an IP', () => {
    expect(ipKey('203.0.113.9:5678', 64)).toBe('203.0.113.9')
    expect(ipKey('[2001:db8:1:2::1]:443', 64)).toBe(ipKey('2001:db8:1:2::9', 64))
    expect(ipKey('[::ffff:203.0.113.9]:80', 64)).toBe('203.0.113.9')
    for (const bad of ['garbage', '203.0.113.9:99999', '203.0.113.9:', 'example.com:80', '', '1.2.3.4 '])
      expect(ipKey(bad, 64), bad).toBeUndefined()
  })

  it('honours another prefix length', () => {
    expect(ipKey('2001:db8:1:2::1', 48)).toBe(ipKey('2001:db8:1:ffff::1', 48))
    expect(ipKey('2001:db8::1', 128)).not.toBe(ipKey('2001:db8::2', 128))
    expect(ipKey('2001:db8:1:2::1', 56)).toBe(ipKey('2001:db8:1:ff::1', 56))
    expect(ipKey('2001:db8:1:2::1', 56)).not.toBe(ipKey('2001:db8:1:100::1', 56))
  })
})

describe('stripPort', () => {
  it('strips IPv4 and bracketed IPv6 ports and leaves everything else alone', () => {
    expect(stripPort('1.2.3.4:5678')).toBe('1.2.3.4')
    expect(stripPort('[2001:db8::1]:443')).toBe('2001:db8::1')
    expect(stripPort('[2001:db8::1]')).toBe('2001:db8::1')
    expect(stripPort('2001:db8::1')).toBe('2001:db8::1')
    expect(stripPort('::ffff:1.2.3.4')).toBe('::ffff:1.2.3.4')
    expect(stripPort('1.2.3.4:65536')).toBe('1.2.3.4:65536')
    expect(stripPort('[2001:db8::1]:x')).toBe('[2001:db8::1]:x')
  })
})

describe('ipKeyOf', () => {
  it('keys a client IP as key: ip does, IPv6 by /64 unless told otherwise', () => {
    expect(ipKeyOf('2001:db8:1:2::7')).toBe('2001:db8:1:2::/64')
    expect(ipKeyOf('2001:db8:1:2:ffff::8')).toBe('2001:db8:1:2::/64')
    expect(ipKeyOf('2001:db8:1:2::7', 48)).toBe('2001:db8:1::/48')
    expect(ipKeyOf('203.0.113.7:5678')).toBe('203.0.113.7')
    expect(ipKeyOf(undefined)).toBeUndefined()
    expect(ipKeyOf('not an address')).toBeUndefined()
    expect(() => ipKeyOf('203.0.113.7', 0)).toThrow(/ipv6Subnet must be an integer from 1 to 128/)
  })
})

describe('CidrSet', () => {
  it('matches IPv4 and IPv6 ranges and single addresses', () => {
    const set = new CidrSet(['10.0.0.0/8', '192.0.2.7', '2001:db8::/32', '::1'], 'test')
    expect(set.size).toBe(4)
    expect(set.hasAddress('10.255.1.2')).toBe(true)
    expect(set.hasAddress('11.0.0.1')).toBe(false)
    expect(set.hasAddress('192.0.2.7')).toBe(true)
    expect(set.hasAddress('192.0.2.8')).toBe(false)
    expect(set.hasAddress('2001:db8:ffff::1')).toBe(true)
    expect(set.hasAddress('2001:db9::1')).toBe(false)
    expect(set.hasAddress('::1')).toBe(true)
    expect(set.hasAddress('not an ip')).toBe(false)
    expect(set.hasAddress(undefined)).toBe(false)
  })

  it('matches IPv4-mapped clients against IPv4 ranges and mapped ranges against IPv4 clients', () => {
    const set = new CidrSet(['10.0.0.0/8', '::ffff:172.16.0.0/108'], 'test')
    expect(set.hasAddress('::ffff:10.1.2.3')).toBe(true)
    expect(set.hasAddress('172.16.9.9')).toBe(true)
    expect(set.hasAddress('172.32.0.1')).toBe(false)
  })

  it('ignores host bits and accepts a /0', () => {
    expect(new CidrSet(['10.1.2.3/8'], 'test').hasAddress('10.200.0.1')).toBe(true)
    expect(new CidrSet(['0.0.0.0/0'], 'test').hasAddress('198.51.100.1')).toBe(true)
    expect(new CidrSet(['::/0'], 'test').hasAddress('2001:db8::1')).toBe(true)
  })

  it('names the option and the entry when a range is invalid', () => {
    expect(() => new CidrSet(['10.0.0.0/33'], 'ipFilter() allow')).toThrow(
      /ipFilter\(\) allow: '10.0.0.0\/33'/,
    )
    expect(() => new CidrSet(['2001:db8::/129'], 'x')).toThrow(TypeError)
    expect(() => new CidrSet(['localhost'], 'x')).toThrow(/not an IP address or CIDR range/)
    expect(() => new CidrSet(['10.0.0.0/x'], 'x')).toThrow(TypeError)
    expect(() => new CidrSet([42 as unknown as string], 'x')).toThrow(/CIDR strings/)
  })
})

describe('clientAddress', () => {
  it.each([
    ['203.0.113.7', '203.0.113.7'],
    ['203.0.113.7:5678', '203.0.113.7'],
    ['[2001:db8::1]:443', '2001:db8::1'],
    ['::ffff:192.0.2.1', '192.0.2.1'],
    ['::FFFF:192.0.2.1', '192.0.2.1'],
    ['2001:db8::1', '2001:db8::1'],
    ['::ffff:abcd', '::ffff:abcd'],
    ['not-an-ip', 'not-an-ip'],
  ])('spells %s as %s', (input, expected) => {
    expect(clientAddress(input)).toBe(expected)
  })
})
