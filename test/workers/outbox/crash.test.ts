import { describe, expect, it } from "vitest";
import { api, expectStatus } from "../helpers";
import { verify } from "../audit-log/helpers";
import { arm, credentialAudit, d1CredentialIds, d1State, pendingOutbox, tenant } from "./outbox-helpers";

/**
 * Issue 18 §2: the tenant's object dies between writing a change's intent (audit entry + outbox
 * row) and D1, or right after D1. After the restart (the next request), D1 and the audit log agree:
 * each change is applied once and audited once. Each case runs the same write without a fault
 * first (positive control), on a second credential of the same tenant.
 */

type Kind = "create" | "update" | "rotate" | "delete" | "acl";
const EXPECTED_ENTRY: Record<Kind, string> = {
  create: "credential.created",
  update: "credential.updated",
  rotate: "credential.rotated",
  delete: "credential.deleted",
  acl: "acl.updated",
};

/** Runs one write of `kind` on credential `name` (created first unless the kind is create). */
async function write(token: string, kind: Kind, name: string): Promise<Response> {
  const path = `/v1/credentials/${encodeURIComponent(name)}`;
  switch (kind) {
    case "create":
      return api(token, "POST", "/v1/credentials", { name, value: `value-of-${name}` });
    case "update":
      return api(token, "PATCH", path, { description: "changed" });
    case "rotate":
      return api(token, "POST", `${path}/rotate`, { value: "next-value" });
    case "delete":
      return api(token, "DELETE", path);
    case "acl":
      return api(token, "PUT", `${path}/acl`, {
        rules: [{ effect: "allow", identity: "agent:*" }],
        agent_visible: true,
      });
  }
}

/** What the credential must look like in D1 once the write of `kind` has landed. */
function expectLanded(kind: Kind, state: Awaited<ReturnType<typeof d1State>>): void {
  if (kind === "delete") return expect(state).toEqual({ row: null, versions: [] });
  expect(state.row).not.toBeNull();
  if (kind === "update") expect(state.row!.description).toBe("changed");
  if (kind === "rotate") expect(state).toMatchObject({ row: { current_version: 2 }, versions: [1, 2] });
  if (kind === "acl") expect(JSON.parse(state.row!.acl)).toMatchObject({ agent_visible: true });
  if (kind === "create") expect(state).toMatchObject({ row: { current_version: 1 }, versions: [1] });
}

async function idOf(tenantId: string, manager: string, name: string): Promise<string> {
  const listed = await expectStatus<{ items: { id: string; name: string }[] }>(
    await api(manager, "GET", "/v1/credentials?limit=100"),
    200,
  );
  const found = listed.items.find((c) => c.name === name);
  if (found) return found.id;
  // Deleted: the id is in the audit log.
  const created = (await credentialAudit(tenantId)).find(
    (e) => e.type === "credential.created" && e.details.name === name,
  );
  return created!.id!;
}

const KINDS: Kind[] = ["create", "update", "rotate", "delete", "acl"];
const POINTS = ["after-outbox-commit", "after-d1-write"] as const;

describe("the object aborted at each point of each write kind: D1 and the audit log agree after restart", () => {
  for (const kind of KINDS) {
    for (const point of POINTS) {
      it(`${kind}, aborted ${point}: applied once, audited once`, async () => {
        const { tenantId, manager } = await tenant();
        if (kind !== "create") {
          for (const name of ["control", "victim"])
            await expectStatus(await api(manager, "POST", "/v1/credentials", { name, value: `value-of-${name}` }), 201);
        }
        // Positive control: the same write with no fault succeeds and lands.
        expect((await write(manager, kind, "control")).status).toBeLessThan(300);
        expectLanded(kind, await d1State(await idOf(tenantId, manager, "control")));

        await arm(tenantId, { abortAt: point });
        const aborted = await write(manager, kind, "victim");
        expect(aborted.status).toBeGreaterThanOrEqual(500);
        if (point === "after-outbox-commit" && kind === "create") {
          // Proof the abort came before D1: nothing is there until the next instance applies it.
          expect(await d1CredentialIds(tenantId)).toHaveLength(1);
        }

        // The next request runs on a new instance, which applies what was pending first.
        const victimId = await idOf(tenantId, manager, "victim");
        expectLanded(kind, await d1State(victimId));
        expect(await pendingOutbox(tenantId)).toBe(0);
        const entries = (await credentialAudit(tenantId)).filter((e) => e.id === victimId);
        expect(entries.filter((e) => e.type === EXPECTED_ENTRY[kind])).toHaveLength(1);
        expect(entries.filter((e) => e.type === "integrity.violation")).toEqual([]);
        expect(await verify(manager)).toMatchObject({ ok: true });
        // Replaying the applied row again changes nothing: a second restart finds the same state.
        const before = await d1State(victimId);
        await arm(tenantId, null);
        expect(await d1State(victimId)).toEqual(before);
      });
    }
  }
});
