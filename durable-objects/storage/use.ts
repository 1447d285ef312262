import { z } from "zod";
import { SetTeamSchema } from "../../worker/contract/schemas/teams";
import { UsePolicySchema, type UsePolicy } from "../../worker/contract/schemas/use";
import type { TeamMembers } from "../../worker/contract/schemas/teams";

/** The stored use policy of a credential, validated on the way out of storage. */
export function findUsePolicy(sql: SqlStorage, credentialId: string): UsePolicy | undefined {
  const row = sql
    .exec<{ policy: string }>("SELECT policy FROM use_policies WHERE credential_id = ?", credentialId)
    .toArray()[0];
  return row ? UsePolicySchema.parse(JSON.parse(row.policy)) : undefined;
}

/** Inserts or replaces a credential's use policy. */
export function putUsePolicy(sql: SqlStorage, credentialId: string, policy: UsePolicy, now: number): void {
  sql.exec(
    "INSERT OR REPLACE INTO use_policies (credential_id, policy, updated_at) VALUES (?, ?, ?)",
    credentialId,
    JSON.stringify(policy),
    now,
  );
}

/** Removes a credential's use policy; true if there was one. */
export function deleteUsePolicy(sql: SqlStorage, credentialId: string): boolean {
  return sql.exec("DELETE FROM use_policies WHERE credential_id = ?", credentialId).rowsWritten > 0;
}

const TeamRow = z.object({ name: z.string(), members: z.string(), updated_at: z.number() });

/** A stored team with its update time. */
export interface StoredTeam extends TeamMembers {
  updatedAt: number;
}

/** Every team of the tenant, by name (`GET /v1/teams` and the team writes; ACL evaluation reads only the teams it names). */
export function listTeams(sql: SqlStorage): StoredTeam[] {
  return teamsOf(sql.exec("SELECT name, members, updated_at FROM teams ORDER BY name"));
}

/**
 * Only the teams named in `names` (at most the 100 rules of one ACL): the lease path reads the
 * teams its ACL refers to, not every team the tenant has (issue 16).
 */
export function teamsNamed(sql: SqlStorage, names: readonly string[]): StoredTeam[] {
  const found: StoredTeam[] = [];
  // A Durable Object binds at most 100 parameters per statement: one ACL's 100 rules fit, but chunk anyway.
  for (let i = 0; i < names.length; i += 100) {
    const chunk = names.slice(i, i + 100);
    const marks = chunk.map(() => "?").join(",");
    found.push(...teamsOf(sql.exec(`SELECT name, members, updated_at FROM teams WHERE name IN (${marks})`, ...chunk)));
  }
  return found;
}

function teamsOf(cursor: SqlStorageCursor<Record<string, SqlStorageValue>>): StoredTeam[] {
  return cursor.toArray().map((raw) => {
    const row = TeamRow.parse(raw);
    return {
      name: row.name,
      members: SetTeamSchema.shape.members.parse(JSON.parse(row.members)),
      updatedAt: row.updated_at,
    };
  });
}

/** Inserts or replaces a team. */
export function putTeam(sql: SqlStorage, name: string, members: readonly string[], now: number): void {
  sql.exec(
    "INSERT OR REPLACE INTO teams (name, members, updated_at) VALUES (?, ?, ?)",
    name,
    JSON.stringify(members),
    now,
  );
}

/** Removes a team; true if it existed. */
export function deleteTeam(sql: SqlStorage, name: string): boolean {
  return sql.exec("DELETE FROM teams WHERE name = ?", name).rowsWritten > 0;
}
