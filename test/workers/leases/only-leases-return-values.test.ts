import { describe, expect, it } from "vitest";
import { api, bootstrap, expectStatus, tokenWithRole, makeToken } from "../helpers";
import { lease, makeCredential } from "./lease-helpers";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
interface OpenApiDoc {
  paths: Record<
    string,
    Record<string, { parameters?: { name: string; in: string; required: boolean }[]; security?: unknown[] }>
  >;
}

/** JSON pointers (as arrays) of every schema in `node` that declares a property named `name`. */
function schemasWithProperty(node: Json, name: string, at: string[] = []): string[][] {
  if (node === null || typeof node !== "object") return [];
  const found: string[][] = [];
  if (
    !Array.isArray(node) &&
    typeof node.properties === "object" &&
    node.properties !== null &&
    !Array.isArray(node.properties) &&
    name in node.properties
  ) {
    found.push(at);
  }
  const entries: [string, Json][] = Array.isArray(node) ? node.map((v, i) => [String(i), v]) : Object.entries(node);
  for (const [key, child] of entries) found.push(...schemasWithProperty(child, name, [...at, key]));
  return found;
}

describe("only a lease returns a credential value", () => {
  it("the OpenAPI document declares a `value` only in the responses that create leases", async () => {
    const doc = await expectStatus<Json>(await api(null, "GET", "/v1/openapi.json"), 200);
    const hits = schemasWithProperty(doc, "value");
    // Positive control: the walker does find `value`, in request bodies that take one.
    const inRequests = hits.filter((p) => p.includes("requestBody"));
    expect(inRequests.map((p) => `${p[1]} ${p[2]}`)).toEqual(
      expect.arrayContaining(["/v1/credentials post", "/v1/credentials/{ref}/rotate post"]),
    );

    const elsewhere = hits.filter((p) => !p.includes("requestBody"));
    // POST /v1/leases, collecting an approved access request's lease, and the two CI entry points
    // (OIDC token, signed webhook) that also create leases.
    expect(elsewhere.map((p) => p.slice(0, 5).join(" ")).sort()).toEqual([
      "paths /v1/access-requests/{id}/lease post responses 201",
      "paths /v1/ci/leases post responses 201",
      "paths /v1/ci/webhooks/{tenant}/{name}/leases post responses 201",
      "paths /v1/leases post responses 201",
    ]);
    // ...and for POST /v1/leases it is the top-level value of that response, a string.
    const only = elsewhere.find((p) => p[1] === "/v1/leases")!;
    expect(only.slice(5)).toEqual(["content", "application/json", "schema"]);
  });

  it("no GET route answers with a planted value, though every one answers", { timeout: 60_000 }, async () => {
    const { adminToken } = await bootstrap();
    const manager = await tokenWithRole(adminToken, "manager", "user:manager@acme.test");
    const spare = await makeToken(adminToken, { role: "user", identity: "agent:planter@host" });
    const planted = [
      `PLANTED-v1-${crypto.randomUUID()}`,
      `PLANTED-v2-${crypto.randomUUID()}`,
      `PLANTED-other-${crypto.randomUUID()}`,
    ];
    const cred = await makeCredential(manager, "plant/key", planted[0]!);
    await makeCredential(manager, "plant/other", planted[2]!);
    // Each value is decrypted at least once (so it sat in the vault's memory) before the GET sweep.
    const first = await lease(spare.token, {
      credential: "plant/key",
      ttl: "10m",
      purpose: "planting",
      agent: { name: "planter" },
    });
    expect(first.value).toBe(planted[0]);
    await expectStatus(await api(manager, "POST", "/v1/credentials/plant%2Fkey/rotate", { value: planted[1] }), 200);
    const second = await lease(spare.token, { credential: "plant/key", ttl: "10m" });
    expect(second.value).toBe(planted[1]);
    expect((await lease(spare.token, { credential: "plant/other" })).value).toBe(planted[2]);
    await expectStatus(await api(spare.token, "DELETE", `/v1/leases/${second.lease.id}`), 200);
    // Used through the proxy too (issue 11): the sweep then covers the use policy and credential.used entries.
    const policy = {
      origins: ["https://api.example.com"],
      inject: { type: "header", name: "Authorization", template: "Bearer {value}" },
    };
    await expectStatus(await api(manager, "PUT", "/v1/credentials/plant%2Fkey/use", policy), 200);
    await expectStatus(
      await api(spare.token, "POST", "/v1/credentials/plant%2Fkey/use", {
        method: "GET",
        url: "https://api.example.com/v1/leak",
      }),
      200,
    );

    // An access request (issue 14 §3): an approve rule now holds the planter's leases of the other credential.
    await expectStatus(
      await api(manager, "PUT", "/v1/credentials/plant%2Fother/acl", {
        rules: [{ effect: "approve", identity: "agent:planter@host", approvers: { role: "admin" } }],
      }),
      200,
    );
    const held = await expectStatus<{ request: { id: string } }>(
      await api(spare.token, "POST", "/v1/leases", { credential: "plant/other" }),
      202,
    );

    const doc = await expectStatus<OpenApiDoc>(await api(null, "GET", "/v1/openapi.json"), 200);
    const now = Date.now();
    const fill = (path: string, name: string): string => {
      if (name === "ref") return encodeURIComponent(cred.name);
      if (name === "id" && path.startsWith("/v1/leases/")) return first.lease.id;
      if (name === "id" && path.startsWith("/v1/tokens/")) return spare.id;
      if (name === "id" && path.startsWith("/v1/access-requests/")) return held.request.id;
      throw new Error(`no fixture for path parameter {${name}} of GET ${path}: add one`);
    };
    const requiredQuery = (path: string, name: string): string => {
      if (name === "from") return new Date(now - 3_600_000).toISOString();
      if (name === "to") return new Date(now + 3_600_000).toISOString();
      // Audit proofs: entry 1 is in every tree, and the tree of 1 entry is a prefix of every tree.
      if (name === "seq" || name === "old") return "1";
      if (name === "identity") return "agent:planter@host";
      throw new Error(`no fixture for required query parameter ${name} of GET ${path}: add one`);
    };

    // Tenant routes only: the operator routes joined the document under their own scheme and take
    // no tenant token; their value sweep is test/workers/operator/canary.test.ts.
    const getPaths = Object.entries(doc.paths).filter(
      ([, ops]) => ops.get !== undefined && !JSON.stringify(ops.get.security ?? []).includes("operator"),
    );
    expect(getPaths.map(([p]) => p)).toEqual(
      expect.arrayContaining([
        "/v1/leases",
        "/v1/leases/{id}",
        "/v1/credentials/{ref}",
        "/v1/audit",
        "/v1/audit/export",
        "/v1/incident/impact",
      ]),
    );
    const bodies: Record<string, string> = {};
    for (const [template, ops] of getPaths) {
      const path = template.replace(/\{(\w+)\}/g, (_m, name: string) => fill(template, name));
      const query = (ops.get!.parameters ?? [])
        .filter((p) => p.in === "query" && p.required)
        .map((p) => `${p.name}=${encodeURIComponent(requiredQuery(template, p.name))}`)
        .join("&");
      const res = await api(adminToken, "GET", query ? `${path}?${query}` : path);
      const text = await res.text();
      expect(res.status, `GET ${template}: ${text.slice(0, 300)}`).toBe(200);
      bodies[template] = text;
      for (const value of planted) expect(text, `GET ${template} leaked a value`).not.toContain(value);
    }
    // The sweep reached real data: the lease, the credential, the audit trail of the leases.
    expect(bodies["/v1/leases/{id}"]).toContain(first.lease.id);
    expect(bodies["/v1/credentials/{ref}"]).toContain(cred.id);
    expect(bodies["/v1/audit/export"]).toContain(second.lease.id);
    expect(bodies["/v1/incident/impact"]).toContain(first.lease.id);
    expect(bodies["/v1/access-requests/{id}"]).toContain(held.request.id);
    // And the only response that carried a value was the lease itself.
    expect(JSON.stringify(first)).toContain(planted[0]);
  });
});
