import { z } from "zod";
import { VaultError } from "../../worker/contract/errors";
import { digestsEqual, importPepper } from "../../worker/core/auth/tokens";
import {
  hashOperatorToken,
  mintOperatorToken,
  newOperatorTokenId,
  operatorIdentity,
  type OperatorActor,
} from "../../worker/core/operator/tokens";
import { iso, isoOrNull } from "../vault-context";
import { appendOperatorLog } from "./storage";

/** The one refusal of every failed operator authentication: it never says which check failed. */
export function operatorUnauthorized(): VaultError {
  return new VaultError("unauthorized", "invalid, expired or revoked operator token");
}

const TokenRow = z.object({
  id: z.string(),
  token_hash: z.string(),
  name: z.string(),
  created_at: z.number().int(),
  created_by: z.string(),
  expires_at: z.number().int(),
  revoked_at: z.number().int().nullable(),
});
type TokenRow = z.output<typeof TokenRow>;

function view(r: TokenRow) {
  return {
    id: r.id,
    name: r.name,
    created_at: iso(r.created_at),
    created_by: r.created_by,
    expires_at: iso(r.expires_at),
    revoked_at: isoOrNull(r.revoked_at),
  };
}

/** What the token store needs from its object. */
export interface TokenStore {
  storage: DurableObjectStorage;
  pepperHex: string;
  now: number;
}

/**
 * Authenticates a named operator token (`gvop_<id>_…`): its HMAC must match the stored one, and
 * it must be neither expired nor revoked. Every failure is the same 401.
 */
export async function authenticateNamed(
  s: TokenStore,
  id: string,
  raw: string,
): Promise<{ name: string; tokenId: string }> {
  const hash = await hashOperatorToken(await importPepper(s.pepperHex), raw);
  const found = s.storage.sql.exec("SELECT * FROM operator_tokens WHERE id = ?", id).toArray();
  const row = found.length === 1 ? TokenRow.parse(found[0]) : null;
  if (!row || !digestsEqual(row.token_hash, hash) || row.revoked_at !== null || row.expires_at <= s.now)
    throw operatorUnauthorized();
  return { name: row.name, tokenId: row.id };
}

/** Only the root operator (the configured token) mints and revokes named tokens: no token mints its equal. */
function requireRoot(actor: OperatorActor): void {
  if (actor.tokenId !== "root")
    throw new VaultError("forbidden", "only the root operator token manages operator tokens");
}

/** Mints a named operator token; the token is returned once, its HMAC stored. Logged. */
export async function mintNamed(s: TokenStore, actor: OperatorActor, input: { name: string; expires_in: number }) {
  requireRoot(actor);
  const id = newOperatorTokenId();
  const token = mintOperatorToken(id);
  const hash = await hashOperatorToken(await importPepper(s.pepperHex), token);
  const row: TokenRow = {
    id,
    token_hash: hash,
    name: input.name,
    created_at: s.now,
    created_by: operatorIdentity(actor.name),
    expires_at: s.now + input.expires_in * 1000,
    revoked_at: null,
  };
  s.storage.transactionSync(() => {
    s.storage.sql.exec(
      "INSERT INTO operator_tokens (id, token_hash, name, created_at, created_by, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
      row.id,
      row.token_hash,
      row.name,
      row.created_at,
      row.created_by,
      row.expires_at,
    );
    appendOperatorLog(
      s.storage.sql,
      {
        ...logActor(actor),
        action: "operator_token.created",
        details: { id, name: input.name, expires_at: iso(row.expires_at) },
      },
      s.now,
    );
  });
  return { ...view(row), token };
}

/** Every named operator token, newest first (never the token or its hash). */
export function listNamed(s: TokenStore) {
  return {
    items: s.storage.sql
      .exec("SELECT * FROM operator_tokens ORDER BY created_at DESC, id")
      .toArray()
      .map((r) => view(TokenRow.parse(r))),
  };
}

/** Revokes a named operator token at once. Logged. */
export function revokeNamed(s: TokenStore, actor: OperatorActor, id: string) {
  requireRoot(actor);
  const found = s.storage.sql.exec("SELECT * FROM operator_tokens WHERE id = ?", id).toArray();
  if (found.length === 0) throw new VaultError("not_found", "no such operator token");
  const row = TokenRow.parse(found[0]);
  if (row.revoked_at !== null) return view(row);
  s.storage.transactionSync(() => {
    s.storage.sql.exec(
      "UPDATE operator_tokens SET revoked_at = ?, revoked_by = ? WHERE id = ?",
      s.now,
      operatorIdentity(actor.name),
      id,
    );
    appendOperatorLog(
      s.storage.sql,
      { ...logActor(actor), action: "operator_token.revoked", details: { id, name: row.name } },
      s.now,
    );
  });
  return view({ ...row, revoked_at: s.now });
}

/** The actor fields of an operator log entry. */
export function logActor(actor: OperatorActor) {
  return { operator: operatorIdentity(actor.name), token_id: actor.tokenId, request_id: actor.requestId };
}
