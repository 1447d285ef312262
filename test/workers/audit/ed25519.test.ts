import { describe, expect, it } from "vitest";
import vectors from "../../../../shared/vectors/wycheproof/ed25519_test.json";
import { fromHex, toHex } from "../../../worker/core/audit/encoding";
import { importSigningKey, importVerifyKey, sign, verify } from "../../../worker/core/audit/ed25519";

const hex = (text: string): Uint8Array => {
  const bytes = fromHex(text);
  if (bytes === null) throw new Error(`bad hex in fixture: ${text}`);
  return bytes;
};

// RFC 8032 §7.1, TEST 1 (empty message).
const RFC8032_SEED = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
const RFC8032_PUBLIC = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
const RFC8032_SIGNATURE =
  "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";

describe("Ed25519 wrapper", () => {
  it("derives the RFC 8032 public key from the seed and signs deterministically", async () => {
    const pair = await importSigningKey(RFC8032_SEED);
    expect(toHex(pair.publicKey)).toBe(RFC8032_PUBLIC);
    expect(pair.privateKey.extractable).toBe(false);
    const signature = await sign(pair.privateKey, new Uint8Array());
    expect(toHex(signature)).toBe(RFC8032_SIGNATURE);
    expect(await verify(pair.publicKey, new Uint8Array(), signature)).toBe(true);
  });

  it("accepts the seed as bytes or as PKCS#8 and gets the same key", async () => {
    const fromBytes = await importSigningKey(hex(RFC8032_SEED));
    const fromPkcs8 = await importSigningKey(hex(`302e020100300506032b657004220420${RFC8032_SEED}`));
    expect(toHex(fromBytes.publicKey)).toBe(RFC8032_PUBLIC);
    expect(toHex(fromPkcs8.publicKey)).toBe(RFC8032_PUBLIC);
  });

  it("refuses malformed private keys", async () => {
    await expect(importSigningKey("zz")).rejects.toThrow();
    await expect(importSigningKey(RFC8032_SEED.toUpperCase())).rejects.toThrow();
    await expect(importSigningKey(new Uint8Array(31))).rejects.toThrow();
  });

  it("verify returns false, never throws, on malformed input; true on the positive control", async () => {
    const pub = hex(RFC8032_PUBLIC);
    const sig = hex(RFC8032_SIGNATURE);
    const msg = new Uint8Array();
    expect(await verify(pub, msg, sig)).toBe(true);
    expect(await verify(pub.slice(0, 31), msg, sig)).toBe(false);
    expect(await verify(new Uint8Array(33), msg, sig)).toBe(false);
    expect(await verify(pub, msg, sig.slice(0, 63))).toBe(false);
    expect(await verify(pub, msg, new Uint8Array(65))).toBe(false);
    expect(await verify(pub, Uint8Array.of(0), sig)).toBe(false);
    await expect(importVerifyKey(new Uint8Array(16))).rejects.toThrow();
    const key = await importVerifyKey(pub);
    expect(await verify(key, msg, sig)).toBe(true);
  });
});

describe("Wycheproof ed25519_test.json through verify()", () => {
  const cases = vectors.testGroups.flatMap((group) => group.tests.map((test) => ({ pk: group.publicKey.pk, ...test })));

  it("has every case the file declares, both valid and invalid ones", () => {
    // Guards against an empty or truncated loop passing vacuously.
    expect(cases.length).toBe(vectors.numberOfTests);
    expect(cases.length).toBeGreaterThanOrEqual(150);
    expect(cases.filter((c) => c.result === "valid").length).toBeGreaterThan(50);
    expect(cases.filter((c) => c.result === "invalid").length).toBeGreaterThan(50);
    expect(cases.every((c) => c.result === "valid" || c.result === "invalid")).toBe(true);
  });

  it.each(cases.map((c) => [c.tcId, c.result, c.comment, c] as const))(
    "tcId %i (%s) %s",
    async (_id, result, _comment, c) => {
      // Wycheproof hex is lowercase; odd-length "sig" fields are themselves invalid cases.
      const msg = fromHex(c.msg);
      const sig = fromHex(c.sig) ?? new Uint8Array(1);
      expect(msg).not.toBeNull();
      expect(await verify(hex(c.pk), msg!, sig)).toBe(result === "valid");
    },
  );
});
