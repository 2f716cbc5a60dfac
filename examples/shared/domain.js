// The notes domain: seed data, stored records with internal fields, and the handlers' logic, free
// of any framework. Each handler takes what the guards established and returns { status, body, headers }.
import { randomBytes, randomUUID, scrypt, scryptSync, timingSafeEqual } from 'node:crypto'
import { promisify } from 'node:util'
import { NotFound, Unauthorized } from '@apiward/errors'

const scryptAsync = promisify(scrypt)
const SALT_BYTES = 16
const KEY_BYTES = 32

function hashPassword(password) {
  const salt = randomBytes(SALT_BYTES)
  return { salt, key: scryptSync(password, salt, KEY_BYTES) }
}

/** Only these leave the server: stored records carry internal fields (`ownerEmail`, `moderation`). */
export function publicNote(note) {
  return {
    id: note.id,
    title: note.title,
    body: note.body,
    tags: [...note.tags],
    ownerId: note.ownerId,
    createdAt: note.createdAt,
  }
}

/** The store of one process, seeded as the contract says. */
export function createDomain() {
  const users = new Map(
    [
      ['alice', 'Alice', ['user'], 'alice-password-1'],
      ['bob', 'Bob', ['user'], 'bob-password-1'],
      ['root', 'Root', ['admin'], 'root-password-1'],
    ].map(([id, displayName, roles, password]) => [
      id,
      { id, displayName, roles, email: `${id}@example.test`, passwordHash: hashPassword(password) },
    ]),
  )
  // Compared against when the username is unknown, so both failures take the same time.
  const decoy = hashPassword(randomBytes(18).toString('base64'))
  const notes = new Map()
  const seed = (id, ownerId, title, body) =>
    notes.set(id, {
      id,
      ownerId,
      title,
      body,
      tags: [],
      createdAt: '2025-01-01T00:00:00.000Z',
      ownerEmail: `${ownerId}@example.test`,
      moderation: { flagged: false, reviewer: 'system' },
    })
  seed('note-alice-1', 'alice', 'Shopping', 'Milk, eggs, bread')
  seed('note-bob-1', 'bob', 'Ideas', 'A notes API that keeps secrets')

  let requests = 0

  return {
    /** Counts every request the application received, for `GET /reports/usage`. */
    countRequest() {
      requests++
    },
    /** The stored note, for `owner()`'s `load`. */
    findNote: (id) => (typeof id === 'string' ? notes.get(id) : undefined),

    health: () => ({ status: 200, body: { status: 'ok' } }),

    listNotes({ principal, query }) {
      const items = []
      for (const note of notes.values()) {
        if (note.ownerId !== principal.id) continue
        items.push(publicNote(note))
        if (items.length === query.limit) break
      }
      return { status: 200, body: { items } }
    },

    getNote: ({ note }) => ({ status: 200, body: publicNote(note) }),

    createNote({ principal, body }) {
      const id = `note-${randomUUID()}`
      const note = {
        id,
        ownerId: principal.id,
        title: body.title,
        body: body.body,
        tags: body.tags ?? [],
        createdAt: new Date().toISOString(),
        ownerEmail: users.get(principal.id)?.email ?? null,
        moderation: { flagged: false, reviewer: null },
      }
      notes.set(id, note)
      return { status: 201, body: publicNote(note), headers: { Location: `/notes/${id}` } }
    },

    patchNote({ note, body }) {
      if (body.title !== undefined) note.title = body.title
      if (body.body !== undefined) note.body = body.body
      if (body.tags !== undefined) note.tags = body.tags
      return { status: 200, body: publicNote(note) }
    },

    deleteNote({ params }) {
      if (!notes.delete(params.id)) throw new NotFound({ code: 'route.not_found' })
      return { status: 204 }
    },

    adminUsers: () => ({
      status: 200,
      body: {
        items: [...users.values()].map((user) => ({
          id: user.id,
          displayName: user.displayName,
          roles: [...user.roles],
        })),
      },
    }),

    async login({ body }) {
      const user = users.get(body.username)
      const stored = user?.passwordHash ?? decoy
      const key = await scryptAsync(body.password, stored.salt, KEY_BYTES)
      if (user === undefined || !timingSafeEqual(key, stored.key)) {
        throw new Unauthorized({
          code: 'auth.unauthorized',
          detail: 'The username or the password is wrong.',
          headers: { 'WWW-Authenticate': 'Bearer realm="notes-api"' },
        })
      }
      return { status: 200, body: { sub: user.id } }
    },

    reports: () => ({ status: 200, body: { requests } }),
  }
}
