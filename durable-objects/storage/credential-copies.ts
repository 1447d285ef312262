import { z } from "zod";
import type { CachedCredential } from "../credential-cache";
import { RowSchema } from "../outbox/mutations";

/**
 * The object's copy of what the lease path reads from D1 for a credential: its row and its
 * current version's ciphertext (value blob and wrapped DEK, which only the tenant's KEK opens),
 * so a cold object's first lease needs no D1 read (issue 16 goals 4 and 5). It is the credential
 * cache's memory entry kept in storage, emptied on the same writes (credential-cache.ts), and it
 * is never an authority: a copy is stored only when its version is the object's head
 * (`keepCopy` in build-context.ts), every lease compares it with the head again, and after
 * CREDENTIAL_COPY_MAX_AGE_MS D1 is read instead, so a D1 changed behind the object's back is
 * still noticed (it was never served: the copy is what the object wrote).
 */

/** How long a copy stands in for D1's rows; then the lease path reads D1 (and checks it) again. */
export const CREDENTIAL_COPY_MAX_AGE_MS = 3_600_000;

const int = z.number().int();
const CredentialSchema = RowSchema.extend({ tenantId: z.string() });
const VersionSchema = z.strictObject({
  tenantId: z.string(),
  credentialId: z.string(),
  version: int,
  kekVersion: int,
  createdAt: int,
  createdBy: z.string(),
});

const COLUMNS = "credential_id, name, credential, current, value_blob, wrapped_dek, copied_at";

/**
 * The copy of the credential `ref` (an id or a name) of `tenantId`, or undefined when there is
 * none, it is older than the maximum age, or it does not hold together (then it is deleted).
 */
export function getCredentialCopy(
  sql: SqlStorage,
  tenantId: string,
  ref: string,
  now: number,
): CachedCredential | undefined {
  const column = ref.startsWith("cred_") ? "credential_id" : "name";
  const rows = sql.exec(`SELECT ${COLUMNS} FROM credential_copies WHERE ${column} = ?`, ref).toArray();
  const row = rows[0];
  if (!row || typeof row.copied_at !== "number" || row.copied_at + CREDENTIAL_COPY_MAX_AGE_MS <= now) return undefined;
  const credential = CredentialSchema.safeParse(parseJson(row.credential));
  const version = VersionSchema.safeParse(parseJson(row.current));
  const { value_blob, wrapped_dek } = row;
  if (
    credential.success &&
    version.success &&
    value_blob instanceof ArrayBuffer &&
    wrapped_dek instanceof ArrayBuffer &&
    credential.data.tenantId === tenantId &&
    version.data.tenantId === tenantId &&
    version.data.credentialId === credential.data.id &&
    version.data.version === credential.data.currentVersion &&
    row.credential_id === credential.data.id &&
    row.name === credential.data.name
  )
    return {
      credential: credential.data,
      current: { ...version.data, valueBlob: new Uint8Array(value_blob), wrappedDek: new Uint8Array(wrapped_dek) },
    };
  // Not what this module writes: dropped, and D1 read instead.
  sql.exec("DELETE FROM credential_copies WHERE credential_id = ?", row.credential_id);
  return undefined;
}

function parseJson(text: unknown): unknown {
  try {
    return typeof text === "string" ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}

/** Stores the copy of a credential, replacing its own and any other holding its name. */
export function putCredentialCopy(sql: SqlStorage, value: CachedCredential, now: number): void {
  const { valueBlob, wrappedDek, ...version } = value.current;
  sql.exec(
    `INSERT OR REPLACE INTO credential_copies (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)`,
    value.credential.id,
    value.credential.name,
    JSON.stringify(value.credential),
    JSON.stringify(version),
    valueBlob,
    wrappedDek,
    now,
  );
}

/** Deletes the copy of one credential, or every copy. */
export function deleteCredentialCopies(sql: SqlStorage, credentialId?: string): void {
  if (credentialId === undefined) sql.exec("DELETE FROM credential_copies");
  else sql.exec("DELETE FROM credential_copies WHERE credential_id = ?", credentialId);
}
