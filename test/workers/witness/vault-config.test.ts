/** AUDIT_WITNESSES in worker/contract/config.ts: what the vault accepts, and what production refuses. */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../../worker/contract/config";
import { productionEnv } from "../support/production-env";
import { TEST_WITNESS, TEST_WITNESS_VKEY } from "../../witness-env";

const witnesses = (...list: unknown[]) => ({ AUDIT_WITNESSES: JSON.stringify(list) });
const viaUrl = (url: string) => ({ name: TEST_WITNESS.name, vkey: TEST_WITNESS_VKEY, url });
const test = (over: Record<string, unknown>) =>
  ({ ...(env as unknown as Record<string, unknown>), ...over }) as unknown as Env;

describe("AUDIT_WITNESSES", () => {
  it("production accepts an https witness in another account (control) and none at all", () => {
    expect(loadConfig(productionEnv(witnesses(viaUrl("https://witness.example.net")))).AUDIT_WITNESSES).toEqual([
      viaUrl("https://witness.example.net"),
    ]);
    expect(loadConfig(productionEnv()).AUDIT_WITNESSES).toEqual([]);
  });

  it("production refuses a service binding, plain http and local addresses (emulator-like settings)", () => {
    const bad = [
      { name: TEST_WITNESS.name, vkey: TEST_WITNESS_VKEY, binding: "TEST_WITNESS" },
      viaUrl("http://witness.example.net"),
      viaUrl("https://localhost:8788"),
      viaUrl("https://127.0.0.1"),
      viaUrl("https://witness.local/"),
    ];
    for (const w of bad)
      expect(() => loadConfig(productionEnv(witnesses(w))), JSON.stringify(w)).toThrow(/misconfigured/);
    // The development witness's binding itself, even unused, as for the KMS emulators.
    expect(() => loadConfig(productionEnv({ AUDIT_WITNESS_DEV: env.TEST_WITNESS }))).toThrow(/misconfigured/);
    // The same binding is fine outside production (how the tests and `npm run dev` reach theirs).
    expect(loadConfig(test(witnesses(bad[0]))).AUDIT_WITNESSES).toHaveLength(1);
  });

  it("refuses malformed settings in any environment", () => {
    const bad = [
      { AUDIT_WITNESSES: "not json" },
      witnesses({ name: TEST_WITNESS.name, vkey: TEST_WITNESS_VKEY }),
      witnesses({ ...viaUrl("https://w.example"), binding: "TEST_WITNESS" }),
      witnesses({ ...viaUrl("https://w.example"), name: "other.example/w" }),
      witnesses({ ...viaUrl("https://w.example"), vkey: "nonsense" }),
      witnesses(viaUrl("https://w.example"), viaUrl("https://w2.example")),
      witnesses({ ...viaUrl("https://w.example"), extra: 1 }),
    ];
    for (const over of bad) expect(() => loadConfig(test(over)), JSON.stringify(over)).toThrow(/misconfigured/);
    expect(loadConfig(test(witnesses(viaUrl("https://w.example")))).AUDIT_WITNESSES).toHaveLength(1);
  });
});
