import { z } from "zod";
import { MAX_GLOB_LENGTH } from "../../core/auth/glob";
import { ROLES } from "../roles";
import { ID_PATTERNS } from "../../core/ids";

/** A role name. */
export const RoleSchema = z.enum(ROLES);

/** Who acts; the grammar and its one parser are in worker/core/auth/identity.ts (README "Identities"). */
export { IdentitySchema } from "../../core/auth/identity";

const DURATION = /^(\d{1,7})(s|m|h|d)$/;
const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86_400 } as const;

/** A duration as whole seconds or a string like "90s", "10m", "1h", "7d"; parsed to seconds. */
export const DurationSchema = z
  .union([
    z.number().int("must be a whole number of seconds").positive("must be positive"),
    z.string().regex(DURATION, 'must be seconds or a duration like "90s", "10m", "1h", "7d"'),
  ])
  .transform((v) => {
    if (typeof v === "number") return v;
    const [, n, unit] = DURATION.exec(v) as unknown as [string, string, keyof typeof UNIT_SECONDS];
    return Number(n) * UNIT_SECONDS[unit];
  })
  .pipe(
    z
      .number()
      .int()
      .positive("must be positive")
      .max(366 * 86_400, "must be at most 366 days"),
  );

/** A credential id. */
export const CredentialIdSchema = z.string().regex(ID_PATTERNS.cred, "must be a credential id (cred_ + 24 hex)");

/** A token id. */
export const TokenIdSchema = z.string().regex(ID_PATTERNS.tok, "must be a token id (tok_ + 24 hex)");

/** An access request id (worker/contract/schemas/access-requests.ts). */
export const AccessRequestIdSchema = z
  .string()
  .regex(ID_PATTERNS.areq, "must be an access request id (areq_ + 24 hex)");

/** A lease id. */
export const LeaseIdSchema = z.string().regex(ID_PATTERNS.lease, "must be a lease id (lease_ + 24 hex)");

/**
 * An identity glob: `*` matches any run of characters, `?` exactly one; everything else is
 * literal. `agent:*`, `ci:github:acme/*@refs/heads/main`, `user:*@acme.com`.
 */
export const IdentityGlobSchema = z
  .string()
  .min(1)
  .max(MAX_GLOB_LENGTH)
  .regex(/^[\x21-\x7e]+$/, "must be printable ASCII without spaces");

/** A timestamp as the API shows it. */
export const TimestampSchema = z.iso.datetime();

/** Page size for list endpoints. */
export const LimitSchema = z.coerce.number().int().min(1).max(100).default(50);

/** The error body of every failing response (documented in the OpenAPI document). */
export const ErrorBodySchema = z.object({
  error: z.object({ code: z.string(), message: z.string(), request_id: z.string() }),
});
