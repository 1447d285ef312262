import type { Operation } from "../../worker/contract/operations";
import { getMeta } from "../storage/meta";
import type { VaultContext } from "../vault-context";

/** Operations that open a credential's value, so need the tenant KEK. */
const VALUE_OPERATIONS: ReadonlySet<string> = new Set<Operation>(["leases.create", "use.request"]);

/**
 * Starts unwrapping the tenant's active KEK in the background when `op` opens a value and no KEK
 * is cached or on its way (a cold object, or one idle past KEK_CACHE_TTL_SECONDS; issue 16 goal 4).
 * Otherwise a cold object reads the credential from D1 first and only then, from its wrapped DEK's
 * version, reads and unwraps the KEK: two round trips in a row. The operation's own `keks.get`
 * joins this unwrap (single flight; during a rotation it may ask for another version, which costs
 * what it cost before). The caller calls this only after authentication and the role check, so no
 * caller who proved nothing can make the vault call its KMS; with a KEK cached it costs a set
 * lookup. A failure is the operation's to report (its own `get` sees the same rejection or tries
 * again); here it is only kept from going unhandled.
 */
export function warmKekFor(op: string, ctx: VaultContext): void {
  if (!VALUE_OPERATIONS.has(op) || !ctx.keks.idle) return;
  const version = getMeta(ctx.sql, "kek_active_version");
  if (version !== undefined) ctx.keks.get(version).catch(() => undefined);
}
