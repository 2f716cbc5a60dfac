/** casbin's own model styles, as the casbin docs write them. */

export const RBAC = `
[request_definition]
r = sub, obj, act

[policy_definition]
p = sub, obj, act

[role_definition]
g = _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = g(r.sub, p.sub) && keyMatch2(r.obj, p.obj) && r.act == p.act
`

export const RBAC_POLICY = `
p, reader, /notes/:id, GET
p, editor, /notes/:id, PATCH
g, editor, reader
g, alice, editor
`

export const DENY_OVERRIDE = `
[request_definition]
r = sub, obj, act

[policy_definition]
p = sub, obj, act, eft

[role_definition]
g = _, _

[policy_effect]
e = some(where (p.eft == allow)) && !some(where (p.eft == deny))

[matchers]
m = g(r.sub, p.sub) && keyMatch2(r.obj, p.obj) && (r.act == p.act || p.act == "*")
`

export const DENY_POLICY = `
p, editor, /notes/:id, DELETE, allow
p, editor, /notes/:id, GET, allow
p, mallory, /notes/:id, DELETE, deny
p, suspended, /notes/:id, *, deny
`

export const DOMAINS = `
[request_definition]
r = sub, dom, obj, act

[policy_definition]
p = sub, dom, obj, act

[role_definition]
g = _, _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = g(r.sub, p.sub, r.dom) && r.dom == p.dom && keyMatch2(r.obj, p.obj) && r.act == p.act
`

export const DOMAINS_POLICY = `
p, admin, acme, /projects/*, GET
p, admin, globex, /projects/*, DELETE
g, alice, admin, acme
g, bob, admin, globex
`

export const REGEX = `
[request_definition]
r = sub, obj, act

[policy_definition]
p = sub, obj, act

[role_definition]
g = _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = g(r.sub, p.sub) && regexMatch(r.obj, p.obj) && regexMatch(r.act, p.act)
`

export const REGEX_POLICY = `
p, auditor, ^/reports/[0-9]+$, ^(GET|POST)$
`

/** ABAC on a request attribute: the owner of the object the request names. */
export const ABAC = `
[request_definition]
r = sub, obj, act, owner

[policy_definition]
p = obj, act

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = r.sub == r.owner && keyMatch2(r.obj, p.obj) && r.act == p.act
`

export const ABAC_POLICY = `
p, /docs/:id, GET
`

/** ABAC on principal attributes, read through a request value (`r.sub.dept` style). */
export const ABAC_ATTRIBUTES = `
[request_definition]
r = sub, obj, act, who

[policy_definition]
p = dept, obj, act

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = r.who.dept == p.dept && keyMatch2(r.obj, p.obj) && r.act == p.act
`

export const ABAC_ATTRIBUTES_POLICY = `
p, eng, /builds/:id, GET
`

/** Roles handed over as one request value. */
export const ROLES_ATTRIBUTE = `
[request_definition]
r = sub, roles, obj, act

[policy_definition]
p = sub, obj, act

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = (r.sub == p.sub || p.sub in r.roles) && keyMatch2(r.obj, p.obj) && r.act == p.act
`
