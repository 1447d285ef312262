/**
 * Wycheproof AES-GCM vectors (../shared/vectors/wycheproof, CI clones shared/ beside the repo)
 * through the module's aesGcmEncrypt / aesGcmDecrypt. workerd supports AES-128, -192 and -256
 * GCM, so every 96-bit-IV case runs; every other IV length must be refused by the module.
 */
import { describe, expect, it } from "vitest";
import file from "../../../../shared/vectors/wycheproof/aes_gcm_test.json";
import { bytesToHex, concatBytes, hexToBytes } from "../../../worker/core/crypto/encoding";
import { aesGcmDecrypt, aesGcmEncrypt, importAesKey } from "../../../worker/core/crypto/primitives";

interface AeadCase {
  tcId: number;
  comment: string;
  flags: string[];
  key: string;
  iv: string;
  aad: string;
  msg: string;
  ct: string;
  tag: string;
  result: string;
}
interface AeadGroup {
  ivSize: number;
  keySize: number;
  tagSize: number;
  tests: AeadCase[];
}

const groups: AeadGroup[] = file.testGroups;
const iv96 = groups
  .filter((g) => g.ivSize === 96)
  .flatMap((g) => g.tests.map((t) => ({ ...t, keySize: g.keySize, tagSize: g.tagSize })));
const otherIv = groups.filter((g) => g.ivSize !== 96).flatMap((g) => g.tests.map((t) => ({ ...t, ivSize: g.ivSize })));

describe("Wycheproof AES-GCM, 96-bit IVs", () => {
  it("loads the expected cases, so an empty loop cannot pass", () => {
    // Counted from aes_gcm_test.json (Wycheproof 0.9rc5): 116 valid + 81 invalid with ivSize 96.
    expect(iv96.length).toBe(197);
    expect(iv96.filter((t) => t.keySize === 192).length).toBe(64);
    expect(iv96.every((t) => t.tagSize === 128)).toBe(true);
    expect(new Set(iv96.map((t) => t.result))).toEqual(new Set(["valid", "invalid"]));
  });

  it.for(iv96)("tcId $tcId, AES-$keySize, $result $flags", async (t) => {
    const key = hexToBytes(t.key);
    const iv = hexToBytes(t.iv);
    const aad = hexToBytes(t.aad);
    const msg = hexToBytes(t.msg);
    const sealed = concatBytes(hexToBytes(t.ct), hexToBytes(t.tag));
    const k = await importAesKey(key, ["encrypt", "decrypt"]);
    if (t.result === "valid") {
      expect(bytesToHex(await aesGcmEncrypt(k, iv, aad, msg))).toBe(t.ct + t.tag);
      expect(bytesToHex(await aesGcmDecrypt(k, iv, aad, sealed))).toBe(t.msg);
    } else if (t.result === "invalid") {
      await expect(aesGcmDecrypt(k, iv, aad, sealed)).rejects.toThrow();
    } else {
      // "acceptable" (none in this file today): either outcome conforms, but a decryption that
      // succeeds must still return the vector's plaintext.
      const out = await aesGcmDecrypt(k, iv, aad, sealed).catch(() => null);
      if (out !== null) expect(bytesToHex(out)).toBe(t.msg);
    }
  });
});

describe("IVs other than 12 bytes are refused", () => {
  it("refuses every Wycheproof case whose IV is not 96 bits, in both directions", async () => {
    expect(otherIv.length).toBeGreaterThan(100);
    let refused = 0;
    for (const t of otherIv) {
      const k = await importAesKey(hexToBytes(t.key), ["encrypt", "decrypt"]);
      const iv = hexToBytes(t.iv);
      const aad = hexToBytes(t.aad);
      await expect(aesGcmEncrypt(k, iv, aad, hexToBytes(t.msg))).rejects.toThrow("exactly 12 bytes");
      await expect(aesGcmDecrypt(k, iv, aad, concatBytes(hexToBytes(t.ct), hexToBytes(t.tag)))).rejects.toThrow(
        "exactly 12 bytes",
      );
      refused++;
    }
    expect(refused).toBe(otherIv.length);
  });

  it.for([0, 8, 11, 13, 16])("refuses a %i-byte IV; a 12-byte IV works (positive control)", async (n) => {
    const k = await importAesKey(new Uint8Array(32).fill(7), ["encrypt", "decrypt"]);
    const aad = new Uint8Array(0);
    const pt = new Uint8Array([1, 2, 3]);
    await expect(aesGcmEncrypt(k, new Uint8Array(n), aad, pt)).rejects.toThrow("exactly 12 bytes");
    await expect(aesGcmDecrypt(k, new Uint8Array(n), aad, new Uint8Array(19))).rejects.toThrow("exactly 12 bytes");
    const ct = await aesGcmEncrypt(k, new Uint8Array(12), aad, pt);
    expect(await aesGcmDecrypt(k, new Uint8Array(12), aad, ct)).toEqual(pt);
  });

  it("refuses input shorter than the tag", async () => {
    const k = await importAesKey(new Uint8Array(16), ["decrypt"]);
    await expect(aesGcmDecrypt(k, new Uint8Array(12), new Uint8Array(0), new Uint8Array(15))).rejects.toThrow();
  });
});

describe("importAesKey", () => {
  it("imports non-extractable keys and refuses odd lengths", async () => {
    const k = await importAesKey(new Uint8Array(32), ["encrypt"]);
    expect(k.extractable).toBe(false);
    await expect(crypto.subtle.exportKey("raw", k)).rejects.toThrow();
    for (const n of [0, 15, 17, 31, 33, 64])
      await expect(importAesKey(new Uint8Array(n), ["encrypt"])).rejects.toThrow();
  });
});
