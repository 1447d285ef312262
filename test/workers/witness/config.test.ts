/** dev/witness/config.ts: a misconfigured witness refuses to start (and so cosigns nothing). */
import { describe, expect, it } from "vitest";
import { loadWitnessConfig, trustedLogFor, WitnessConfigError, type WitnessEnv } from "../../../dev/witness/config";
import { TEST_WITNESS, TEST_WITNESS_VKEY, vkeyOf } from "../../witness-env";

const LOG_VKEY = vkeyOf("vault.example/audit", "11".repeat(32), 0x01);
const good = (logs: unknown = [{ prefix: "vault.example/", vkey: LOG_VKEY }]) =>
  ({
    WITNESS_NAME: TEST_WITNESS.name,
    WITNESS_SIGNING_KEY: TEST_WITNESS.seed,
    WITNESS_LOGS: JSON.stringify(logs),
  }) as unknown as WitnessEnv;

describe("witness configuration", () => {
  it("loads a good configuration (control) and picks the longest matching prefix", async () => {
    const config = await loadWitnessConfig(
      good([
        { prefix: "vault.example/", vkey: LOG_VKEY },
        { prefix: "vault.example/audit/", vkey: LOG_VKEY },
      ]),
    );
    expect(config.vkey).toBe(TEST_WITNESS_VKEY);
    expect(trustedLogFor(config, "vault.example/audit/t1")?.prefix).toBe("vault.example/audit/");
    expect(trustedLogFor(config, "vault.example/x")?.prefix).toBe("vault.example/");
    expect(trustedLogFor(config, "vault.example/")).toBeUndefined();
    expect(trustedLogFor(config, "vault.example.evil/x")).toBeUndefined();
  });

  it("refuses a missing or malformed key, bad JSON, a prefix not ending in '/', a witness vkey as log key", async () => {
    const bad: [Partial<Record<string, string>>, RegExp][] = [
      [{ WITNESS_SIGNING_KEY: undefined }, /WITNESS_SIGNING_KEY/],
      [{ WITNESS_SIGNING_KEY: "AB".repeat(32) }, /WITNESS_SIGNING_KEY/],
      [{ WITNESS_NAME: "has space" }, /cosigner name/],
      [{ WITNESS_LOGS: "{" }, /not JSON/],
      [{ WITNESS_LOGS: "[]" }, /WITNESS_LOGS/],
      [{ WITNESS_LOGS: JSON.stringify([{ prefix: "vault.example", vkey: LOG_VKEY }]) }, /must end with/],
      [
        { WITNESS_LOGS: JSON.stringify([{ prefix: "vault.example/", vkey: TEST_WITNESS_VKEY }]) },
        /not an Ed25519 signed-note key/,
      ],
    ];
    for (const [change, message] of bad) {
      const env = { ...good(), ...change } as unknown as WitnessEnv;
      await expect(loadWitnessConfig(env), JSON.stringify(change)).rejects.toThrow(WitnessConfigError);
      await expect(loadWitnessConfig(env)).rejects.toThrow(message);
    }
  });
});
