import { configureWarnings, resetWarnings, warnOnce } from '@apiward/core'
import { afterEach, describe, expect, it, vi } from 'vitest'

afterEach(() => {
  configureWarnings()
  resetWarnings()
  vi.restoreAllMocks()
})

describe('warnOnce', () => {
  it('writes one console.warn line by default, with the code and the docs page', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    const emitWarning = vi.spyOn(process, 'emitWarning')
    expect(warnOnce('APIWARD_TEST', 'Something is off; set x.', 'core.md#warnings')).toBe(true)
    expect(warn).toHaveBeenCalledOnce()
    expect(warn).toHaveBeenCalledWith(
      '[apiward] APIWARD_TEST Something is off; set x. See docs/core.md#warnings.',
    )
    expect(emitWarning).not.toHaveBeenCalled()
  })

  it('leaves the docs sentence out when the warning has no page', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    warnOnce('APIWARD_TEST', 'Something is off.')
    expect(warn).toHaveBeenCalledWith('[apiward] APIWARD_TEST Something is off.')
  })

  it('gives each code once per process until the warnings are reset', () => {
    const logger = vi.fn()
    configureWarnings({ logger })
    expect(warnOnce('APIWARD_A', 'first')).toBe(true)
    expect(warnOnce('APIWARD_A', 'again')).toBe(false)
    expect(warnOnce('APIWARD_B', 'other')).toBe(true)
    resetWarnings()
    expect(warnOnce('APIWARD_A', 'after reset')).toBe(true)
    expect(logger.mock.calls.map(([code, message]) => `${code} ${message}`)).toEqual([
      'APIWARD_A first',
      'APIWARD_B other',
      'APIWARD_A after reset',
    ])
  })
})

describe('configureWarnings', () => {
  it('hands the logger the code, the message and the docs page, and writes nothing itself', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    const logger = vi.fn()
    configureWarnings({ logger })
    warnOnce('APIWARD_TEST', 'Something is off.', 'ratelimit.md#client-ip')
    expect(logger).toHaveBeenCalledWith('APIWARD_TEST', 'Something is off.', 'ratelimit.md#client-ip')
    expect(warn).not.toHaveBeenCalled()
  })

  it('goes back to the console line when called without a logger', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    const logger = vi.fn()
    configureWarnings({ logger })
    configureWarnings()
    warnOnce('APIWARD_TEST', 'Something is off.')
    expect(logger).not.toHaveBeenCalled()
    expect(warn).toHaveBeenCalledOnce()
  })

  it('falls back to the console line when the logger throws, so the caller goes on', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    configureWarnings({
      logger: () => {
        throw new Error('logger down')
      },
    })
    expect(warnOnce('APIWARD_TEST', 'Something is off.')).toBe(true)
    expect(warn).toHaveBeenCalledWith('[apiward] APIWARD_TEST Something is off.')
  })

  it('refuses a logger that is not a function', () => {
    expect(() => configureWarnings({ logger: 'console' as never })).toThrow(TypeError)
  })
})
