/** Roles in increasing order of authority; each includes every role before it. */
export const ROLES = ["viewer", "user", "manager", "admin"] as const;

/** One of the four roles. */
export type Role = (typeof ROLES)[number];

/** True when `have` grants at least what `need` requires. */
export function roleAtLeast(have: Role, need: Role): boolean {
  return ROLES.indexOf(have) >= ROLES.indexOf(need);
}
