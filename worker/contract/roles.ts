/** Roles in increasing order of authority; each includes every role before it. */
export const ROLES = ["viewer", "user", "manager", "admin"] as const;

/** One of the four roles. */
export type Role = (typeof ROLES)[number];

/** True when `have` grants at least what `need` requires. */
export function roleAtLeast(have: Role, need: Role): boolean {
  return ROLES.indexOf(have) >= ROLES.indexOf(need);
}

/**
 * Every authenticated operation and the least role that may perform it. Routes declare their
 * operation (which puts the role in the OpenAPI document) and the Durable Object enforces the
 * same table, so the two can never disagree.
 */
export const OPERATIONS = {
  whoami: "viewer",
  "credentials.list": "viewer",
  "credentials.get": "viewer",
  "credentials.versions": "viewer",
  "credentials.create": "manager",
  "credentials.update": "manager",
  "credentials.rotate": "manager",
  "credentials.delete": "manager",
  "acl.get": "manager",
  "acl.set": "manager",
  "acl.check": "manager",
  "use.get": "viewer",
  "use.set": "manager",
  "use.delete": "manager",
  "use.request": "user",
  "teams.list": "manager",
  "teams.set": "admin",
  "teams.delete": "admin",
  "sessions.create": "viewer",
  "sessions.revoke": "viewer",
  "tokens.list": "admin",
  "tokens.get": "admin",
  "tokens.create": "admin",
  "tokens.revoke": "admin",
  "leases.create": "user",
  "leases.list": "viewer",
  "leases.get": "viewer",
  "leases.renew": "user",
  "leases.revoke": "user",
  "leases.revoke_matching": "manager",
  "access_requests.list": "viewer",
  "access_requests.get": "viewer",
  /** Approvers also need the role or team the approve rule names (ops/access-requests.ts). */
  "access_requests.approve": "user",
  "access_requests.deny": "user",
  "access_requests.collect": "user",
  "audit.query": "manager",
  "audit.verify": "manager",
  "audit.checkpoints": "manager",
  "audit.inclusion_proof": "manager",
  "audit.consistency_proof": "manager",
  "audit.export": "admin",
  "incident.impact": "admin",
  "oidc.list": "admin",
  "oidc.create": "admin",
  "oidc.delete": "admin",
  "webhooks.list": "admin",
  "webhooks.create": "admin",
  "webhooks.delete": "admin",
  "kek.status": "admin",
  "kek.rotate": "admin",
  /** No route: reachable only through the Durable Object binding, in tests and benchmarks. */
  "leases.seed": "admin",
} as const satisfies Record<string, Role>;

/** The name of an authenticated operation. */
export type Operation = keyof typeof OPERATIONS;
