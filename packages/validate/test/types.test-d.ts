import type { StateKey } from '@apiward/core'
import { describe, expectTypeOf, it } from 'vitest'
import {
  type FromSchema,
  kValidated,
  type VALIDATE_EVENTS,
  type ValidatedInput,
  type ValidateEventType,
  validate,
} from '../src/index.js'

const note = {
  type: 'object',
  properties: {
    title: { type: 'string' },
    count: { type: 'integer' },
    tags: { type: 'array', items: { type: 'string' } },
    kind: { enum: ['a', 'b'] },
    maybe: { type: ['string', 'null'] },
  },
  required: ['title'],
} as const

describe('types from schemas', () => {
  it('types an object schema written as const', () => {
    expectTypeOf<FromSchema<typeof note>>().toEqualTypeOf<{
      title: string
      count?: number
      tags?: string[]
      kind?: 'a' | 'b'
      maybe?: string | null
    }>()
  })

  it('types the state keys of validate() from its schemas', () => {
    const guard = validate({
      body: note,
      query: { type: 'object', properties: { limit: { type: 'integer' } } },
    })
    expectTypeOf(guard.body).toEqualTypeOf<StateKey<FromSchema<typeof note>>>()
    expectTypeOf(guard.query).toEqualTypeOf<StateKey<{ limit?: number }>>()
    expectTypeOf(guard.params).toEqualTypeOf<StateKey<undefined>>()
    expectTypeOf(kValidated).toEqualTypeOf<StateKey<ValidatedInput>>()
  })

  it('keeps the event list equal to the event map', () => {
    expectTypeOf<(typeof VALIDATE_EVENTS)[number]>().toEqualTypeOf<ValidateEventType>()
  })
})
