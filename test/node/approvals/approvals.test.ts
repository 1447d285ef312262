import { randomUUID } from "node:crypto";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { ApprovalPendingError, VaultClient, VaultError } from "../../../sdk/index";
import { buildCli, cliEnv, collect, mcpServerEnv, runCli, spawnCli, type CliFixture } from "../cli/helpers";
import { ROOT, startLocalVault, type LocalVault } from "../support/vault";

/**
 * Approvals (just-in-time access) through the clients against a real local Vault: the SDK's
 * typed pending result, waiting and collecting; the CLI's `requests` commands and `lease`
 * waiting or not; the MCP server's lease tool answering a pending approval as a message.
 */

let vault: LocalVault;
let cli: CliFixture;
let admin: VaultClient;
/** Agent tokens: user role, identity agent:bot@node (held by the approve rule). */
let agentToken: string;
let agent: VaultClient;
/** Alice: user role, in team approvers-node. */
let aliceToken: string;
let alice: VaultClient;
const clients: Client[] = [];

beforeAll(async () => {
  [vault, cli] = await Promise.all([startLocalVault(), buildCli()]);
  admin = new VaultClient({ url: vault.url, token: vault.adminToken });
  await admin.http.json(
    { method: "PUT", path: "/v1/teams/approvers-node", body: { members: ["user:alice@node.test"] } },
    z.unknown(),
  );
  agentToken = (await admin.tokens.create({ name: "agent", role: "user", identity: "agent:bot@node" })).token;
  aliceToken = (await admin.tokens.create({ name: "alice", role: "user", identity: "user:alice@node.test" })).token;
  agent = new VaultClient({ url: vault.url, token: agentToken });
  alice = new VaultClient({ url: vault.url, token: aliceToken });
});
afterAll(async () => {
  await Promise.allSettled(clients.map((c) => c.close()));
  await vault?.stop();
  await cli?.cleanup();
});

/** A credential of this test's own whose ACL holds agents' leases for approval by the team. */
async function heldCredential(): Promise<{ name: string; value: string }> {
  const name = `jit/${randomUUID().slice(0, 8)}`;
  const value = `sk-${randomUUID()}`;
  await admin.credentials.create({ name, value, default_ttl: "5m", max_ttl: "1h" });
  await admin.acl.set(name, {
    rules: [{ effect: "approve", identity: "agent:*", approvers: { team: "approvers-node" } }],
  });
  return { name, value };
}

async function pending(name: string): Promise<ApprovalPendingError> {
  const error = await agent.lease(name).then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ApprovalPendingError);
  return error as ApprovalPendingError;
}

describe("SDK", () => {
  it("lease() rejects with ApprovalPendingError (request id, approvers); an approver approves; the requester collects one lease", async () => {
    const cred = await heldCredential();
    const error = await pending(cred.name);
    expect(error).toMatchObject({ code: "approval_pending", status: 202 });
    expect(error.accessRequest).toMatchObject({
      status: "pending",
      approvers: { team: "approvers-node" },
      identity: "agent:bot@node",
    });
    expect(error.message).toContain(`waiting for approval by team approvers-node (request ${error.accessRequest.id}`);
    expect(JSON.stringify(error)).not.toContain(cred.value);
    const id = error.accessRequest.id;
    expect((await alice.requests.list()).map((r) => r.id)).toContain(id);
    expect((await agent.requests.list({ view: "mine" })).map((r) => r.id)).toContain(id);
    // The requester cannot approve their own request; the approver can.
    await expect(agent.requests.approve(id)).rejects.toMatchObject({ code: "acl_denied", status: 403 });
    await expect(agent.requests.collect(id)).rejects.toBeInstanceOf(ApprovalPendingError);
    expect((await alice.requests.approve(id, "ok for the deploy")).status).toBe("approved");
    expect((await agent.requests.waitForApproval(id, { intervalMs: 10 })).status).toBe("approved");
    const lease = await agent.requests.collect(id);
    expect(lease.value).toBe(cred.value);
    await expect(agent.requests.collect(id)).rejects.toMatchObject({ code: "conflict", status: 409 });
    await lease.revoke();
  });

  it("leaseWithApproval() tells onPending, polls with backoff until approved, and returns the lease; a denial and a timeout reject with their codes", async () => {
    const cred = await heldCredential();
    const seen: string[] = [];
    const lease = await agent.leaseWithApproval(
      cred.name,
      { purpose: "sdk test" },
      {
        intervalMs: 20,
        maxIntervalMs: 50,
        onPending: (e) => {
          seen.push(e.accessRequest.id);
          void alice.requests.approve(e.accessRequest.id);
        },
      },
    );
    expect(seen).toHaveLength(1);
    expect(lease.value).toBe(cred.value);
    expect(lease.metadata.purpose).toBe("sdk test");
    await lease.revoke();

    const denied = await pending(cred.name);
    await alice.requests.deny(denied.accessRequest.id, "use staging");
    await expect(agent.requests.waitForApproval(denied.accessRequest.id, { intervalMs: 10 })).rejects.toMatchObject({
      code: "approval_denied",
      message: expect.stringContaining("use staging"),
    });
    const slow = await pending(cred.name);
    const timedOut = await agent.requests
      .waitForApproval(slow.accessRequest.id, { timeoutMs: 60, intervalMs: 20 })
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(timedOut).toBeInstanceOf(VaultError);
    expect((timedOut as VaultError).code).toBe("approval_timeout");
    expect((timedOut as VaultError).message).toContain("team approvers-node");
  });
});

describe("CLI", () => {
  const as = (token: string) => cliEnv(cli, { GHOSTVAULT_URL: vault.url, GHOSTVAULT_TOKEN: token });

  it("lease --no-wait says who must approve and exits 1; requests ls/approve/deny; lease then collects", async () => {
    const cred = await heldCredential();
    const noWait = await runCli(cli, ["lease", cred.name, "--no-wait"], { env: as(agentToken) });
    expect(noWait.code).toBe(1);
    expect(noWait.stdout).toBe("");
    const id = /request (areq_[0-9a-f]{24})/.exec(noWait.stderr)?.[1];
    expect(noWait.stderr, noWait.stderr).toContain("waiting for approval by team approvers-node");
    expect(id).toBeDefined();

    const ls = await runCli(cli, ["requests", "ls"], { env: as(aliceToken) });
    expect(ls.code, ls.stderr).toBe(0);
    expect(ls.stdout).toContain(id!);
    const none = await runCli(cli, ["requests", "ls", "--json"], { env: as(agentToken) });
    expect((JSON.parse(none.stdout) as { items: unknown[] }).items).toEqual([]);
    const self = await runCli(cli, ["requests", "approve", id!], { env: as(agentToken) });
    expect(self.code).toBe(1);
    expect(self.stderr).toContain("own access request");
    const approved = await runCli(cli, ["requests", "approve", id!, "--reason", "ticket 7"], { env: as(aliceToken) });
    expect(approved.code, approved.stderr).toBe(0);
    expect(approved.stderr).toContain(`approved ${id}`);

    const collected = await runCli(cli, ["lease", cred.name], { env: as(agentToken) });
    expect(collected.code, collected.stderr).toBe(0);
    expect(collected.stdout).toBe(cred.value);

    const again = await runCli(cli, ["lease", cred.name, "--no-wait", "--json"], { env: as(agentToken) });
    const next = (JSON.parse(again.stdout) as { error: { code: string; message: string } }).error;
    expect(next.code).toBe("approval_pending");
    const nextId = /request (areq_[0-9a-f]{24})/.exec(next.message)![1]!;
    const deny = await runCli(cli, ["requests", "deny", nextId], { env: as(aliceToken) });
    expect(deny.code).toBe(2);
    expect(
      (await runCli(cli, ["requests", "deny", nextId, "--reason", "not today"], { env: as(aliceToken) })).code,
    ).toBe(0);
    const shown = await runCli(cli, ["requests", "show", nextId], { env: as(agentToken) });
    expect(shown.stdout).toMatch(/status\s+denied/);
    expect(shown.stdout).toContain("not today");
  });

  it("lease waits (by default) with a message on stderr, and prints the value once an approver approves", async () => {
    const cred = await heldCredential();
    const child = spawnCli(cli, ["lease", cred.name, "--wait-timeout", "60"], { env: as(agentToken) });
    child.stdin!.end();
    const done = collect(child, 60_000);
    const id = await new Promise<string>((resolve, reject) => {
      let err = "";
      const timer = setTimeout(() => reject(new Error(`no pending line; stderr: ${err}`)), 30_000);
      child.stderr!.on("data", (c: Buffer | string) => {
        err += c.toString();
        const m = /needs approval by team approvers-node; request (areq_[0-9a-f]{24}).*waiting/.exec(err);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
    });
    await alice.requests.approve(id);
    const result = await done;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe(cred.value);
    expect(result.stderr).not.toContain(cred.value);
  });
});

describe("CLI run", () => {
  const as = (token: string) => cliEnv(cli, { GHOSTVAULT_URL: vault.url, GHOSTVAULT_TOKEN: token });

  it("run --no-wait leases nothing and exits 1 naming the request; run (waiting) starts the command once approved", async () => {
    const cred = await heldCredential();
    const print = ["--", process.execPath, "-e", "process.stdout.write('len=' + process.env.SECRET.length)"];
    const refused = await runCli(cli, ["run", "--no-wait", "--env", `SECRET=${cred.name}`, ...print], {
      env: as(agentToken),
    });
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe("");
    const id = /request (areq_[0-9a-f]{24})/.exec(refused.stderr)?.[1];
    expect(id, refused.stderr).toBeDefined();
    const child = spawnCli(cli, ["run", "--env", `SECRET=${cred.name}`, ...print], { env: as(agentToken) });
    child.stdin!.end();
    const done = collect(child, 60_000);
    await new Promise<void>((resolve) =>
      child.stderr!.on("data", (c: Buffer | string) => c.toString().includes("waiting") && resolve()),
    );
    await alice.requests.approve(id!);
    const result = await done;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe(`len=${cred.value.length}`);
  });
});

describe("MCP", () => {
  it("lease_credential answers a pending approval as a message (not an error) naming the approvers and request; after approval the same call leases", async () => {
    const cred = await heldCredential();
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [cli.bin, "mcp"],
      env: await mcpServerEnv(cli, vault.url, agentToken),
      cwd: ROOT,
      stderr: "pipe",
    });
    const client = new Client({ name: "vitest-approvals", version: "1.0.0" });
    await client.connect(transport, { timeout: 20_000 });
    clients.push(client);
    const call = async () =>
      (await client.callTool(
        { name: "lease_credential", arguments: { name: cred.name, purpose: "mcp test" } },
        undefined,
        { timeout: 30_000 },
      )) as CallToolResult;
    const first = await call();
    expect(first.isError ?? false).toBe(false);
    const text = (first.content[0] as { text: string }).text;
    expect(text).toMatch(/^Waiting for approval by team approvers-node: access request areq_[0-9a-f]{24}/);
    expect(JSON.stringify(first)).not.toContain(cred.value);
    const id = /access request (areq_[0-9a-f]{24})/.exec(text)![1]!;
    // Asking again does not queue a second request.
    expect((await call()).content[0]).toMatchObject({ text: expect.stringContaining(id) });
    await alice.requests.approve(id);
    const second = await call();
    expect(second.isError ?? false).toBe(false);
    const body = JSON.parse((second.content[0] as { text: string }).text) as {
      lease: { id: string };
      revealed: boolean;
    };
    expect(body.revealed).toBe(false);
    expect(JSON.stringify(second)).not.toContain(cred.value);
    expect((await alice.requests.list({ view: "queue" })).map((r) => r.id)).not.toContain(id);
    expect((await agent.requests.get(id)).lease_id).toBe(body.lease.id);
  });
});
