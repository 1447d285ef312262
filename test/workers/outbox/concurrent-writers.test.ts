import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { api, expectStatus } from "../helpers";
import { auditRows } from "../audit-log/helpers";
import { d1State, pendingOutbox, tenant } from "./outbox-helpers";

/**
 * Issue 18 §2: concurrent writers to one credential (update, rotate, delete, ACL change, lease),
 * fired at once in random mixes. Whatever interleaving the object chose, its audit log must be a
 * serial history: replayed in order, each entry follows from the state the previous ones left,
 * and the state it ends in is the one D1 holds. No request may fail with a 5xx.
 */

type Op =
  | { kind: "update"; description: string }
  | { kind: "rotate" }
  | { kind: "delete" }
  | { kind: "acl"; visible: boolean }
  | { kind: "lease" };

const OpArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant("update" as const), description: fc.constantFrom("a", "b", "c") }),
  fc.constant({ kind: "rotate" as const }),
  fc.constant({ kind: "delete" as const }),
  fc.record({ kind: fc.constant("acl" as const), visible: fc.boolean() }),
  fc.constant({ kind: "lease" as const }),
);

function send(manager: string, user: string, op: Op): Promise<Response> {
  switch (op.kind) {
    case "update":
      return api(manager, "PATCH", "/v1/credentials/x", { description: op.description });
    case "rotate":
      return api(manager, "POST", "/v1/credentials/x/rotate", { value: "next" });
    case "delete":
      return api(manager, "DELETE", "/v1/credentials/x");
    case "acl":
      return api(manager, "PUT", "/v1/credentials/x/acl", {
        rules: [{ effect: "allow", identity: "agent:*" }],
        agent_visible: op.visible,
      });
    case "lease":
      return api(user, "POST", "/v1/leases", { credential: "x" });
  }
}

interface Entry {
  type: string;
  target: { id: string; version?: number } | null;
  details: Record<string, unknown>;
}

describe("concurrent writers to one credential", () => {
  it("leave a serial audit history that explains the final D1 state (random interleavings)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(OpArb, { minLength: 2, maxLength: 6 }), async (ops) => {
        const { tenantId, manager, user } = await tenant();
        const created = await expectStatus<{ id: string }>(
          await api(manager, "POST", "/v1/credentials", { name: "x", value: "v1" }),
          201,
        );
        await expectStatus(
          await api(manager, "PUT", "/v1/credentials/x/acl", {
            rules: [{ effect: "allow", identity: "agent:*" }],
            agent_visible: true,
          }),
          200,
        );
        const responses = await Promise.all(ops.map((op) => send(manager, user, op)));
        for (const res of responses) expect(res.status, await res.clone().text()).toBeLessThan(500);

        // Replay the log: each entry must follow from the state before it.
        const model = { exists: true, version: 1, description: "" };
        const entries = (await auditRows(tenantId))
          .map((r) => JSON.parse(r.entry) as Entry)
          .filter((e) => e.target?.id === created.id);
        for (const e of entries) {
          if (e.type === "credential.created" || e.type === "integrity.violation") {
            expect(e.type).toBe("credential.created");
            continue;
          }
          expect(model.exists, `${e.type} after the credential was deleted`).toBe(true);
          if (e.type === "credential.rotated") {
            expect(e.details.previous_version).toBe(model.version);
            model.version = e.target!.version!;
          } else if (e.type === "credential.updated") {
            expect((e.details.before as { description: string }).description).toBe(model.description);
            model.description = (e.details.after as { description: string }).description;
          } else if (e.type === "credential.deleted") {
            model.exists = false;
          } else if (e.type === "lease.created") {
            expect(e.target!.version).toBe(model.version);
          }
        }
        const d1 = await d1State(created.id);
        if (!model.exists) expect(d1).toEqual({ row: null, versions: [] });
        else expect(d1.row).toMatchObject({ current_version: model.version, description: model.description });
        expect(await pendingOutbox(tenantId)).toBe(0);
        // Every successful write has exactly one entry.
        const ok = ops.filter((_op, i) => responses[i]!.status < 300);
        const count = (type: string) => entries.filter((e) => e.type === type).length;
        expect(count("credential.rotated")).toBe(ok.filter((o) => o.kind === "rotate").length);
        expect(count("credential.updated")).toBe(ok.filter((o) => o.kind === "update").length);
        expect(count("credential.deleted")).toBe(ok.filter((o) => o.kind === "delete").length);
        expect(count("lease.created")).toBe(ok.filter((o) => o.kind === "lease").length);
      }),
      { numRuns: 15, seed: 18 },
    );
  });
});
