import { expect, it } from "vitest";
import { api, bootstrap, createCredential, expectStatus, tokenWithRole } from "../helpers";
import { allEntries, auditRows, scalar, verify } from "./helpers";

const N = 500;

it(`${N} concurrent lease requests on one tenant: ${N} leases, ${N} lease.created entries, contiguous seq, chain verifies`, {
  timeout: 240_000,
}, async () => {
  const { tenantId, adminToken } = await bootstrap();
  // Two user tokens of one identity: the test config limits each token to 300 requests a minute.
  const users = [
    await tokenWithRole(adminToken, "user", "agent:swarm@test"),
    await tokenWithRole(adminToken, "user", "agent:swarm@test"),
  ];
  const user = users[0]!;
  const cred = await createCredential(adminToken, "shared", "concurrent-value");
  const before = await scalar(tenantId, "SELECT count(*) AS n FROM audit");

  const responses = await Promise.all(
    Array.from({ length: N }, (_, i) =>
      api(users[i % 2]!, "POST", "/v1/leases", { credential: "shared", ttl: "10m", purpose: `req-${i}` }),
    ),
  );
  const bodies = await Promise.all(responses.map((r) => r.text().then((text) => ({ status: r.status, text }))));
  const statuses = bodies.map((b) => b.status);
  expect(
    statuses.filter((s) => s !== 201),
    bodies.find((b) => b.status !== 201)?.text,
  ).toEqual([]);
  const leases = bodies.map(
    (b) => JSON.parse(b.text) as { lease: { id: string; credential_id: string }; value: string },
  );
  expect(leases.every((l) => l.value === "concurrent-value" && l.lease.credential_id === cred.id)).toBe(true);
  const ids = new Set(leases.map((l) => l.lease.id));
  expect(ids.size).toBe(N);

  // Every lease is listed (paginated) and stored.
  const listed: string[] = [];
  let cursor: string | null = null;
  do {
    const page: { items: { id: string }[]; next_cursor: string | null } = await expectStatus(
      await api(user, "GET", `/v1/leases?limit=100${cursor ? `&cursor=${cursor}` : ""}`),
      200,
    );
    listed.push(...page.items.map((l) => l.id));
    cursor = page.next_cursor;
  } while (cursor !== null);
  expect(listed).toHaveLength(N);
  expect(new Set(listed)).toEqual(ids);
  expect(await scalar(tenantId, "SELECT count(*) AS n FROM leases")).toBe(N);

  // Exactly N lease.created entries, one per lease, and a gap-free chain.
  const created = await allEntries(adminToken, "&type=lease.created");
  expect(created).toHaveLength(N);
  expect(new Set(created.map((e) => (e.entry.details as { lease_id: string }).lease_id))).toEqual(ids);
  const rows = await auditRows(tenantId);
  expect(rows.length).toBe(before + N);
  expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: rows.length }, (_, i) => i + 1));
  for (let i = 1; i < rows.length; i++) expect(JSON.parse(rows[i]!.entry).prev_hash).toBe(rows[i - 1]!.hash);
  expect(rows.filter((r) => r.type === "lease.created")).toHaveLength(N);

  const verified = await verify(adminToken);
  expect(verified).toMatchObject({ ok: true, checked: rows.length, head: rows[rows.length - 1]!.hash });
  // 500 entries at AUDIT_CHECKPOINT_EVERY=10 leave signed checkpoints that verify covered.
  expect(verified.ok && verified.checkpoints).toBeGreaterThan(0);
});
