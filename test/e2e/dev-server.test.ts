import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseCosignerKey, verifyWitnessQuorum } from "../../worker/core/audit/cosignature";
import {
  freePort,
  groupMembers,
  killAll,
  startDev,
  stopDev,
  waitForBanner,
  wranglerGroups,
  type DevServer,
} from "./dev-server-harness";

/** `npm run dev` (dev/start.mjs) end to end: real wrangler dev, real workerd, private state. */

const tempDirs: string[] = [];
function freshDirs(): { persistDir: string; stateDir: string } {
  const dir = mkdtempSync(path.join(tmpdir(), "ghostvault-dev-e2e-"));
  tempDirs.push(dir);
  return { persistDir: path.join(dir, "state"), stateDir: path.join(dir, "ghostvault") };
}

afterAll(async () => {
  await killAll();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/** Stops start.mjs with `signal` and asserts its wrangler group and port are gone. */
async function stopAndCheckClean(server: DevServer, signal: NodeJS.Signals, url: string): Promise<void> {
  const groups = wranglerGroups(server);
  expect(groups.size, "wrangler dev should be running before the stop").toBeGreaterThan(0);
  expect(await stopDev(server, signal)).not.toBeNull();
  expect(groupMembers(groups), "no wrangler/workerd process may outlive start.mjs").toEqual([]);
  await expect(fetch(`${url}/v1/health`, { signal: AbortSignal.timeout(2000) })).rejects.toThrow();
}

describe("npm run dev", () => {
  it("serves a bootstrapped vault, and Ctrl-C leaves no process behind", async () => {
    const server = startDev({ port: await freePort(), ...freshDirs() });
    const banner = await waitForBanner(server);
    const auth = { authorization: `Bearer ${banner.token}` };

    const whoami = await fetch(`${banner.url}/v1/whoami`, { headers: auth });
    expect(whoami.status).toBe(200);
    expect(await whoami.json()).toMatchObject({
      tenant_id: banner.tenantId,
      role: "admin",
      identity: "user:dev@localhost",
    });
    // Control beside the positive case: the server really checks the token.
    const forged = await fetch(`${banner.url}/v1/whoami`, { headers: { authorization: `Bearer ${banner.token}x` } });
    expect(forged.status).toBe(401);

    const value = "e2e-dev-server-secret-value";
    const created = await fetch(`${banner.url}/v1/credentials`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ name: "demo/api-key", value }),
    });
    const text = await created.text();
    expect(created.status, text).toBe(201);
    expect(JSON.parse(text)).toMatchObject({ name: "demo/api-key", current_version: 1 });
    expect(JSON.parse(text)).not.toHaveProperty("value");
    expect(text).not.toContain(value);

    // The dev witness runs beside the vault and cosigns its checkpoints under the vkey the banner printed.
    const witnessVkey = /Audit witness .*\n\s+(\S+\+[0-9a-f]{8}\+\S+)/.exec(server.output())?.[1];
    expect(witnessVkey, server.output()).toMatch(/^witness\.localhost\/dev\+/);
    const { verifier_key } = (await (await fetch(`${banner.url}/v1/audit/public-key`)).json()) as {
      verifier_key: string;
    };
    const checkpoints = (await (
      await fetch(`${banner.url}/v1/audit/checkpoints?fresh=true`, { headers: auth })
    ).json()) as { items: { note: string }[] };
    const note = checkpoints.items.at(-1)!.note;
    const witness = (await parseCosignerKey(witnessVkey!))!;
    expect(await verifyWitnessQuorum(note, verifier_key, [witness], 1)).toMatchObject({
      ok: true,
      cosignedBy: ["witness.localhost/dev"],
    });

    await stopAndCheckClean(server, "SIGINT", banner.url);
  });

  it("a restart with the same state reuses the tenant and token", async () => {
    const dirs = freshDirs();
    const port = await freePort();
    const first = startDev({ port, ...dirs });
    const before = await waitForBanner(first);
    expect(first.output()).toContain("new tenant bootstrapped");
    const stateFile = path.join(dirs.stateDir, "dev.json");
    expect(statSync(stateFile).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(stateFile, "utf8"))).toEqual({
      url: before.url,
      tenant_id: before.tenantId,
      token: before.token,
    });
    await stopAndCheckClean(first, "SIGTERM", before.url);

    const second = startDev({ port, ...dirs });
    const after = await waitForBanner(second);
    expect(second.output()).toContain("reusing saved tenant");
    expect(after).toEqual(before);
    const whoami = await fetch(`${after.url}/v1/whoami`, { headers: { authorization: `Bearer ${after.token}` } });
    expect(whoami.status).toBe(200);
    await stopAndCheckClean(second, "SIGINT", after.url);
  });
});
