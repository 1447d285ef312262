import { describe, expect, it } from "vitest";
import { bodyOf, expectError, send, setupWorld, snapshot, uid, type World } from "./route-fixtures";

/** Credential-specific input rules (bad-input.test.ts covers what every route with a body shares). */

const create = (w: World, body: Record<string, unknown>) =>
  send(w, "post", "/v1/credentials", { token: w.tokens.manager, body });
const rotate = (w: World, value: string) =>
  send(w, "post", `/v1/credentials/${w.credential.id}/rotate`, { token: w.tokens.manager, body: { value } });
const get = (w: World, ref: string) =>
  send(w, "get", `/v1/credentials/${encodeURIComponent(ref)}`, { token: w.tokens.viewer });

/** A value of exactly `bytes` UTF-8 bytes, remembered as planted so no response may echo it. */
function valueOf(w: World, bytes: number, unit = "v"): string {
  const prefix = `PLANTED-${uid()}-`;
  const unitBytes = new TextEncoder().encode(unit).byteLength;
  const value =
    prefix +
    unit.repeat(Math.floor((bytes - prefix.length) / unitBytes)) +
    "z".repeat((bytes - prefix.length) % unitBytes);
  expect(new TextEncoder().encode(value).byteLength).toBe(bytes);
  w.secrets.push(value);
  return value;
}

describe("credential values", { timeout: 60_000 }, () => {
  it("a value of 65537 bytes is refused naming `value`, on create and rotate; exactly 65536 bytes is accepted", async () => {
    const w = await setupWorld();
    const before = await snapshot(w);
    expect(
      expectError(await create(w, { name: `big/${uid()}`, value: valueOf(w, 65_537) }), 400, "validation_failed"),
    ).toContain("value");
    expect(expectError(await rotate(w, valueOf(w, 65_537)), 400, "validation_failed")).toContain("value");
    expect(await snapshot(w)).toEqual(before);
    const made = await create(w, { name: `big/${uid()}`, value: valueOf(w, 65_536) });
    expect(made.status, made.text).toBe(201);
    const rotated = await rotate(w, valueOf(w, 65_536));
    expect(rotated.status, rotated.text).toBe(200);
    expect(bodyOf<{ current_version: number }>(rotated).current_version).toBe(2);
  });

  it("counts UTF-8 bytes, not characters: 65536 bytes of two-byte characters pass, one more byte fails", async () => {
    const w = await setupWorld();
    expect(
      expectError(await create(w, { name: `utf8/${uid()}`, value: valueOf(w, 65_537, "é") }), 400, "validation_failed"),
    ).toContain("value");
    const ok = await create(w, { name: `utf8/${uid()}`, value: valueOf(w, 65_536, "é") });
    expect(ok.status, ok.text).toBe(201);
  });

  it("the largest value fits the body limit even when every character is JSON-escaped as \\uXXXX", async () => {
    const w = await setupWorld();
    const value = valueOf(w, 65_536, "\u0001");
    expect(JSON.stringify({ name: "escaped", value }).length).toBeGreaterThan(6 * 65_000);
    const r = await create(w, { name: `escaped/${uid()}`, value });
    expect(r.status, r.text).toBe(201);
  });

  it("an empty value is refused naming `value`; a one-character value is accepted", async () => {
    const w = await setupWorld();
    expect(expectError(await create(w, { name: `empty/${uid()}`, value: "" }), 400, "validation_failed")).toContain(
      "value",
    );
    expect((await create(w, { name: `one/${uid()}`, value: "1" })).status).toBe(201);
  });
});

describe("credential names", { timeout: 60_000 }, () => {
  const BAD = [
    "../x",
    "a//b",
    "-lead",
    ".hidden",
    "a/./b",
    "a/../b",
    "x".repeat(129),
    "",
    "/abs",
    "trail/",
    "sp ace",
    "uni\u00e9",
    "a\\b",
    "a\nb",
  ];

  it.each(BAD.map((n) => [JSON.stringify(n.length > 20 ? `${n.slice(0, 8)}…(${n.length})` : n), n] as const))(
    "name %s is refused with 400 naming `name`, and nothing is stored",
    async (_label, name) => {
      const w = await setupWorld();
      const before = await snapshot(w);
      expect(expectError(await create(w, { name, value: valueOf(w, 40) }), 400, "validation_failed")).toContain("name");
      expect(await snapshot(w)).toEqual(before);
      // Positive control: a good name with the same value is accepted.
      expect((await create(w, { name: `good/${uid()}`, value: w.secrets.at(-1)! })).status).toBe(201);
    },
  );

  it("a name of exactly 128 characters, with dots, dashes, underscores and segments, is accepted and found by name", async () => {
    const w = await setupWorld();
    const name = `prod/db_1.main-x/${"n".repeat(128 - 17)}`;
    expect(name).toHaveLength(128);
    expect((await create(w, { name, value: valueOf(w, 40) })).status).toBe(201);
    expect((await get(w, name)).status).toBe(200);
  });

  it("a duplicate name is refused with 409 conflict and the first credential is unchanged", async () => {
    const w = await setupWorld();
    const before = await snapshot(w);
    expectError(await create(w, { name: w.credential.name, value: valueOf(w, 40) }), 409, "conflict");
    expect(await snapshot(w)).toEqual(before);
  });

  it("a name that looks like an id (cred_…) is either refused naming `name` or reachable by that name, never stored unreachable", async () => {
    const w = await setupWorld();
    for (const name of [`cred_${uid()}`, `cred_${"a".repeat(24)}`]) {
      const made = await create(w, { name, value: valueOf(w, 40) });
      if (made.status === 400) {
        expect(expectError(made, 400, "validation_failed")).toContain("name");
        continue;
      }
      expect(made.status, made.text).toBe(201);
      const byName = await get(w, name);
      expect(byName.status, `created as ${name}, then GET by name: ${byName.text}`).toBe(200);
    }
    // Positive control: an ordinary name is created and found by name.
    const name = `credx_${uid()}`;
    expect((await create(w, { name, value: valueOf(w, 40) })).status).toBe(201);
    expect((await get(w, name)).status).toBe(200);
  });
});

describe("credential lease TTLs", { timeout: 60_000 }, () => {
  it('durations "10m" and "1h" are accepted and stored as seconds', async () => {
    const w = await setupWorld();
    const made = await create(w, { name: `ttl/${uid()}`, value: valueOf(w, 40), default_ttl: "10m", max_ttl: "1h" });
    expect(made.status, made.text).toBe(201);
    expect(made.json).toMatchObject({ default_ttl: 600, max_ttl: 3600 });
    expect((await get(w, bodyOf<{ id: string }>(made).id)).json).toMatchObject({ default_ttl: 600, max_ttl: 3600 });
    const patched = await send(w, "patch", `/v1/credentials/${w.credential.id}`, {
      token: w.tokens.manager,
      body: { default_ttl: "90s", max_ttl: "2h" },
    });
    expect(patched.json).toMatchObject({ default_ttl: 90, max_ttl: 7200 });
  });

  it("default_ttl above max_ttl is refused with 400 on create and update; nothing changes", async () => {
    const w = await setupWorld();
    const before = await snapshot(w);
    expect(
      expectError(
        await create(w, { name: `ttl/${uid()}`, value: valueOf(w, 40), default_ttl: "2h", max_ttl: "1h" }),
        400,
        "validation_failed",
      ),
    ).toContain("default_ttl");
    const patch = (body: unknown) =>
      send(w, "patch", `/v1/credentials/${w.credential.id}`, { token: w.tokens.manager, body });
    await patch({ max_ttl: "1h" }).then((r) => expect(r.status, r.text).toBe(200));
    const afterSetup = await snapshot(w);
    expect(expectError(await patch({ default_ttl: "2h" }), 400, "validation_failed")).toContain("default_ttl");
    expect(expectError(await patch({ max_ttl: "1m" }), 400, "validation_failed")).toContain("max_ttl");
    expect(await snapshot(w)).toEqual(afterSetup);
    expect(before).not.toEqual(afterSetup);
  });

  it("malformed durations and a max_ttl above the tenant maximum are refused naming the field", async () => {
    const w = await setupWorld();
    for (const ttl of ["10", "10x", "1.5h", "-5", 0, -1, 1.5, "367d", "99999999s"]) {
      expect(
        expectError(
          await create(w, { name: `ttl/${uid()}`, value: valueOf(w, 40), max_ttl: ttl }),
          400,
          "validation_failed",
        ),
        String(ttl),
      ).toContain("max_ttl");
    }
    expect(
      expectError(
        await create(w, { name: `ttl/${uid()}`, value: valueOf(w, 40), max_ttl: "2d" }),
        400,
        "validation_failed",
      ),
    ).toContain("max_ttl");
    expect((await create(w, { name: `ttl/${uid()}`, value: valueOf(w, 40), max_ttl: "1d" })).status).toBe(201);
  });
});
