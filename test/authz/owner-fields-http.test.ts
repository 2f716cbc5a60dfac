import { fields, owner } from '@apiward/authz'
import { response } from '@apiward/validate'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { send } from '../conformance/client.js'
import type { RunningServer } from '../conformance/harness.js'
import { harnesses } from '../conformance/servers/index.js'
import { as, authenticate, problemShape, token } from './support.js'

interface Note {
  id: string
  ownerId: string
  title: string
  secret: string
  items: Array<{ name: string; cost: number; supplier: string }>
}

const seed = (): Map<string, Note> =>
  new Map(
    (['alice', 'bob'] as const).map((who) => [
      `${who}-1`,
      {
        id: `${who}-1`,
        ownerId: who,
        title: `${who}'s note`,
        secret: `${who}'s secret`,
        items: [
          { name: 'a', cost: 1, supplier: 's1' },
          { name: 'b', cost: 2, supplier: 's2' },
        ],
      },
    ]),
  )

describe.each(harnesses)('$name adapter: owner() and fields() over HTTP', (harness) => {
  let server: RunningServer
  let notes = seed()
  const tokens: Record<string, string> = {}
  const byParam = owner({
    load: (ctx) => notes.get(ctx.req.params.id!),
    ownerOf: (n) => n.ownerId,
    bypassRoles: ['support'],
  })
  const byQuery = owner({ load: (ctx) => notes.get(String(ctx.req.query.id)), ownerOf: (n) => n.ownerId })
  const byBody = owner({
    load: (ctx) => notes.get(String((ctx.req.body as { noteId?: unknown })?.noteId)),
    ownerOf: (n) => n.ownerId,
    needsBody: true,
  })
  const noteFields = fields({
    write: { user: { title: true, items: { name: true } }, support: { ownerId: true } },
    read: {
      '*': { id: true, title: true, items: { name: true } },
      support: { ownerId: true, items: { cost: true } },
    },
  })
  beforeAll(async () => {
    server = await harness.start({
      routes: [
        {
          method: 'GET',
          path: '/notes/:id',
          guards: [authenticate(), byParam, noteFields],
          handler: ({ state }) => ({ body: state(byParam.key) }),
        },
        {
          method: 'PATCH',
          path: '/notes/:id',
          guards: [authenticate(), byParam, noteFields],
          handler: ({ state, body }) => {
            const note = state(byParam.key)!
            Object.assign(note, body)
            return { body: note }
          },
        },
        {
          method: 'DELETE',
          path: '/notes/:id',
          guards: [authenticate(), byParam],
          handler: ({ state }) => {
            notes.delete(state(byParam.key)!.id)
            return { status: 204 }
          },
        },
        {
          method: 'GET',
          path: '/both/:id',
          guards: [
            authenticate(),
            byParam,
            noteFields,
            response({
              type: 'object',
              properties: {
                id: { type: 'string' },
                ownerId: { type: 'string' },
                items: {
                  type: 'array',
                  items: {
                    type: 'object',
                    properties: { name: { type: 'string' }, supplier: { type: 'string' } },
                  },
                },
              },
            }),
          ],
          handler: ({ state }) => ({ body: state(byParam.key) }),
        },
        {
          method: 'GET',
          path: '/lookup',
          guards: [authenticate(), byQuery],
          handler: ({ state }) => ({ body: { id: state(byQuery.key)?.id } }),
        },
        {
          method: 'POST',
          path: '/share',
          guards: [authenticate(), byBody],
          handler: ({ state }) => ({ body: { id: state(byBody.key)?.id } }),
        },
      ],
    })
    tokens.alice = await token('alice', { roles: ['user'] })
    tokens.bob = await token('bob', { roles: ['user'] })
    tokens.support = await token('sam', { roles: ['user', 'support'] })
  })
  beforeEach(() => {
    notes = seed()
  })
  afterAll(async () => {
    await server.close()
  })

  it("answers another user's note exactly as an unknown route, on GET, PATCH and DELETE", async () => {
    const unknownRoute = problemShape(await send(`${server.url}/no-such-route`, as(tokens.bob!)))
    expect(unknownRoute.status).toBe(404)
    const answers = [
      await send(`${server.url}/notes/alice-1`, as(tokens.bob!)),
      await send(`${server.url}/notes/alice-1`, {
        ...as(tokens.bob!, { body: '{"title":"mine"}' }),
        method: 'PATCH',
      }),
      await send(`${server.url}/notes/alice-1`, { ...as(tokens.bob!), method: 'DELETE' }),
      await send(`${server.url}/notes/nobody-1`, as(tokens.bob!)),
    ]
    for (const answer of answers) expect(problemShape(answer)).toEqual(unknownRoute)
    expect(notes.get('alice-1')?.title).toBe("alice's note")
    expect(notes.has('alice-1')).toBe(true)
  })

  it('lets the owner and a bypass role through, and the handler gets the loaded note', async () => {
    const own = await send(`${server.url}/notes/alice-1`, as(tokens.alice!))
    expect(own.status).toBe(200)
    expect(own.json.id).toBe('alice-1')
    expect((await send(`${server.url}/notes/alice-1`, as(tokens.support!))).status).toBe(200)
    const deleted = await send(`${server.url}/notes/bob-1`, { ...as(tokens.bob!), method: 'DELETE' })
    expect(deleted.status).toBe(204)
    expect(notes.has('bob-1')).toBe(false)
  })

  it('checks ids in the query and in the body the same way', async () => {
    expect((await send(`${server.url}/lookup?id=alice-1`, as(tokens.bob!))).status).toBe(404)
    expect((await send(`${server.url}/lookup?id=alice-1`, as(tokens.alice!))).json).toEqual({ id: 'alice-1' })
    const share = (t: string) =>
      send(`${server.url}/share`, { ...as(t, { body: '{"noteId":"alice-1"}' }), method: 'POST' })
    expect((await share(tokens.bob!)).status).toBe(404)
    expect((await share(tokens.alice!)).json).toEqual({ id: 'alice-1' })
  })

  it("never reaches another user's note through another spelling of its id", async () => {
    for (const spelling of [
      '%61lice-1',
      'alice-1%20',
      'alice-1%09',
      '%20alice-1',
      'ALICE-1',
      'alice-1%00',
      '..%2Falice-1',
      'alice%2D1',
    ]) {
      const answer = await send(`${server.url}/notes/${spelling}`, as(tokens.bob!))
      expect([400, 404], spelling).toContain(answer.status)
    }
    const decoded = await send(`${server.url}/notes/%61lice-1`, as(tokens.alice!))
    expect(decoded.status).toBe(200)
    expect(decoded.json.id).toBe('alice-1')
  })

  it('refuses mass assignment, nested and in arrays, naming every property', async () => {
    const body = JSON.stringify({
      title: 'x',
      ownerId: 'alice',
      isAdmin: true,
      role: 'admin',
      items: [{ name: 'a' }, { name: 'b', cost: 0 }],
    })
    const answer = await send(`${server.url}/notes/bob-1`, { ...as(tokens.bob!, { body }), method: 'PATCH' })
    expect(answer.status).toBe(400)
    expect(answer.json.code).toBe('validation.rejected')
    expect(answer.json.errors.map((e: { pointer: string }) => e.pointer)).toEqual([
      '/ownerId',
      '/isAdmin',
      '/role',
      '/items/1/cost',
    ])
    expect(notes.get('bob-1')?.ownerId).toBe('bob')
    const allowed = await send(`${server.url}/notes/bob-1`, {
      ...as(tokens.bob!, { body: '{"title":"renamed"}' }),
      method: 'PATCH',
    })
    expect(allowed.status).toBe(200)
    expect(allowed.json.title).toBe('renamed')
  })

  it('filters what each role reads, through nested arrays', async () => {
    const asUser = await send(`${server.url}/notes/bob-1`, as(tokens.bob!))
    expect(asUser.json).toEqual({ id: 'bob-1', title: "bob's note", items: [{ name: 'a' }, { name: 'b' }] })
    const asSupport = await send(`${server.url}/notes/bob-1`, as(tokens.support!))
    expect(asSupport.json).toEqual({
      id: 'bob-1',
      title: "bob's note",
      ownerId: 'bob',
      items: [
        { name: 'a', cost: 1 },
        { name: 'b', cost: 2 },
      ],
    })
  })

  it("sends the intersection of fields() and validate's response() on one route", async () => {
    const asUser = await send(`${server.url}/both/bob-1`, as(tokens.bob!))
    expect(asUser.json).toEqual({ id: 'bob-1', items: [{ name: 'a' }, { name: 'b' }] })
    const asSupport = await send(`${server.url}/both/bob-1`, as(tokens.support!))
    expect(asSupport.json).toEqual({ id: 'bob-1', ownerId: 'bob', items: [{ name: 'a' }, { name: 'b' }] })
  })
})
