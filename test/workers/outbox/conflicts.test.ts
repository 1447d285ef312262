import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { api, expectStatus } from "../helpers";
import { verify } from "../audit-log/helpers";
import { arm, credentialAudit, d1State, getCredential, pendingOutbox, tenant } from "./outbox-helpers";

/**
 * Issue 18 §1, the conflict rule: a pending mutation whose compare-and-set finds D1 changed behind
 * the object's back. The object's state wins and is written again ("reapplied"); a row that is gone
 * cannot be ("dropped"). Either way an integrity.violation entry records what D1 held.
 */

/** Queues an update of `name` in the outbox: D1 writes fail while it is made. */
async function queueUpdate(tenantId: string, manager: string, name: string): Promise<void> {
  await arm(tenantId, { d1Writes: "fail" });
  await expectStatus(await api(manager, "PATCH", `/v1/credentials/${name}`, { description: "by the vault" }), 200);
  await arm(tenantId, null);
  expect(await pendingOutbox(tenantId)).toBe(1);
}

describe("outbox conflict rule", () => {
  it("D1 changed behind the object's back while a change was pending: the object's state is reapplied and the conflict recorded", async () => {
    const { tenantId, manager } = await tenant();
    await expectStatus(await api(manager, "POST", "/v1/credentials", { name: "control", value: "v" }), 201);
    const victim = await expectStatus<{ id: string }>(
      await api(manager, "POST", "/v1/credentials", { name: "victim", value: "v" }),
      201,
    );
    // Positive control: a queued change with D1 untouched applies with no violation.
    await queueUpdate(tenantId, manager, "control");
    expect(await getCredential(manager, "control")).toMatchObject({ description: "by the vault" });
    expect((await credentialAudit(tenantId)).filter((e) => e.type === "integrity.violation")).toEqual([]);

    await queueUpdate(tenantId, manager, "victim");
    await env.DB.prepare("UPDATE credentials SET description = 'by an intruder', updated_at = 12345 WHERE id = ?")
      .bind(victim.id)
      .run();
    expect(await getCredential(manager, "victim")).toMatchObject({ description: "by the vault" });
    expect((await d1State(victim.id)).row!.description).toBe("by the vault");
    const violations = (await credentialAudit(tenantId)).filter((e) => e.type === "integrity.violation");
    expect(violations).toEqual([
      {
        type: "integrity.violation",
        id: victim.id,
        details: { operation: "outbox.update", d1: { updated_at: 12345, current_version: 1 }, resolution: "reapplied" },
      },
    ]);
    expect(await verify(manager)).toMatchObject({ ok: true });
  });

  it("the row deleted behind the object's back while a change was pending: the change is dropped and the conflict recorded", async () => {
    const { tenantId, manager } = await tenant();
    const victim = await expectStatus<{ id: string }>(
      await api(manager, "POST", "/v1/credentials", { name: "victim", value: "v" }),
      201,
    );
    await queueUpdate(tenantId, manager, "victim");
    await env.DB.prepare("DELETE FROM credentials WHERE id = ?").bind(victim.id).run();
    await expectStatus(await api(manager, "GET", "/v1/credentials/victim"), 404);
    expect(await pendingOutbox(tenantId)).toBe(0);
    const violations = (await credentialAudit(tenantId)).filter((e) => e.type === "integrity.violation");
    expect(violations).toEqual([
      {
        type: "integrity.violation",
        id: victim.id,
        details: { operation: "outbox.update", d1: null, resolution: "dropped" },
      },
    ]);
  });
});
