import { describe, expect, it } from "vitest";
import { descendants } from "../support/processes";
import { startLocalVault } from "../support/vault";

/** The harness itself: a working vault (KMS reached through the service binding), and nothing left behind. */
describe("startLocalVault", () => {
  it("starts a vault whose KMS binding works, and stop() leaves no process behind", async () => {
    const before = new Set(descendants().map((p) => p.pid));
    const vault = await startLocalVault();
    try {
      const started = descendants().filter((p) => !before.has(p.pid));
      expect(started.some((p) => p.args.includes("workerd"))).toBe(true);
      const auth = { authorization: `Bearer ${vault.adminToken}`, "content-type": "application/json" };
      const who = await fetch(`${vault.url}/v1/whoami`, { headers: auth });
      expect(who.status).toBe(200);
      // Creating a credential unwraps the tenant KEK: only works if the KMS emulator answers.
      const created = await fetch(`${vault.url}/v1/credentials`, {
        method: "POST",
        headers: auth,
        body: JSON.stringify({ name: "harness", value: "v" }),
      });
      expect(created.status).toBe(201);
    } finally {
      await vault.stop();
    }
    await vault.stop(); // idempotent
    // esbuild's service process (wrangler bundles in-process) lives until this process exits, by design.
    const left = descendants().filter((p) => !before.has(p.pid) && !/esbuild --service|^ps /.test(p.args));
    expect(left).toEqual([]);
  });
});
