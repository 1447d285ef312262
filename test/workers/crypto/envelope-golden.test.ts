/**
 * Frozen format-v1 vectors (golden-v1.json, produced once by golden-v1.gen.py with pyca/cryptography,
 * independently of worker/core/crypto). A format change must break these tests; never regenerate the
 * file to make them pass.
 */
import { describe, expect, it } from "vitest";
import { bytesToHex, hexToBytes, utf8Encode } from "../../../worker/core/crypto/encoding";
import {
  encodeContext,
  openCredentialValue,
  sealCredentialValue,
  sealCredentialValueWithFixedRandomnessForTestsOnly,
  VALUE_BLOB_OVERHEAD_BYTES,
  WRAPPED_DEK_BYTES,
  wrappedDekKekVersion,
  type CredentialContext,
} from "../../../worker/core/crypto/envelope";
import { sha256 } from "../../../worker/core/crypto/sha256";
import golden from "./golden-v1.json";
import { CTX, kekFromHex, KEK_A_HEX } from "./helpers";

interface GoldenCase {
  name: string;
  tenantId: string;
  credentialId: string;
  version: number;
  kekVersion: number;
  kekHex: string;
  dekHex: string;
  valueIvHex: string;
  saltHex: string;
  wrapIvHex: string;
  plaintextHex?: string;
  plaintextPattern?: { length: number; modulus: number };
  contextHex: string;
  valueBlobHex?: string;
  valueBlobSha256Hex?: string;
  wrappedDekHex: string;
}

const cases: GoldenCase[] = golden.cases;

function plaintextOf(c: GoldenCase): Uint8Array {
  if (c.plaintextPattern) {
    const { length, modulus } = c.plaintextPattern;
    return Uint8Array.from({ length }, (_, i) => i % modulus);
  }
  return hexToBytes(c.plaintextHex ?? "");
}

const ctxOf = (c: GoldenCase): CredentialContext => ({
  tenantId: c.tenantId,
  credentialId: c.credentialId,
  version: c.version,
});

describe("golden v1 vectors", () => {
  it("has the frozen cases", () => {
    expect(golden.format).toBe("v1");
    expect(cases.map((c) => c.name)).toEqual([
      "empty-value",
      "ascii-value",
      "unicode-value-and-ids",
      "extreme-versions",
      "64kib-pattern",
    ]);
    expect(plaintextOf(cases[4]!).length).toBe(65_536);
  });

  it.for(cases)("$name: context bytes", (c) => {
    expect(bytesToHex(encodeContext(ctxOf(c)))).toBe(c.contextHex);
  });

  it.for(cases)("$name: rebuilt byte for byte through the deterministic seam", async (c) => {
    const kek = await kekFromHex(c.kekHex, c.kekVersion);
    const fixed = {
      dek: hexToBytes(c.dekHex),
      valueIv: hexToBytes(c.valueIvHex),
      salt: hexToBytes(c.saltHex),
      wrapIv: hexToBytes(c.wrapIvHex),
    };
    const sealed = await sealCredentialValueWithFixedRandomnessForTestsOnly(fixed, plaintextOf(c), kek, ctxOf(c));
    if (c.valueBlobHex !== undefined) expect(bytesToHex(sealed.valueBlob)).toBe(c.valueBlobHex);
    else expect(bytesToHex(await sha256(sealed.valueBlob))).toBe(c.valueBlobSha256Hex);
    expect(bytesToHex(sealed.wrappedDek)).toBe(c.wrappedDekHex);
    expect(sealed.valueBlob.length).toBe(plaintextOf(c).length + VALUE_BLOB_OVERHEAD_BYTES);
    // The seam leaves the caller's DEK alone (sealCredentialValue zeroes its own random one).
    expect(bytesToHex(fixed.dek)).toBe(c.dekHex);
    // And the rebuilt blob opens (for the 64 KiB case this is the frozen blob, by its hash).
    expect(await openCredentialValue(sealed, kek, ctxOf(c))).toEqual(plaintextOf(c));
  });

  it.for(cases.filter((c) => c.valueBlobHex !== undefined))("$name: the frozen blobs open", async (c) => {
    const kek = await kekFromHex(c.kekHex, c.kekVersion);
    const sealed = { valueBlob: hexToBytes(c.valueBlobHex!), wrappedDek: hexToBytes(c.wrappedDekHex) };
    expect(bytesToHex(await openCredentialValue(sealed, kek, ctxOf(c)))).toBe(bytesToHex(plaintextOf(c)));
    expect(wrappedDekKekVersion(sealed.wrappedDek)).toBe(c.kekVersion);
  });

  it.for(cases)("$name: wrapped DEK layout is GW | 01 | kek_version | salt | iv | encDEK | tag", (c) => {
    const w = hexToBytes(c.wrappedDekHex);
    expect(WRAPPED_DEK_BYTES).toBe(83);
    expect(w.length).toBe(WRAPPED_DEK_BYTES);
    expect(bytesToHex(w.subarray(0, 3))).toBe("475701");
    expect(new DataView(w.buffer).getUint32(3)).toBe(c.kekVersion);
    expect(bytesToHex(w.subarray(7, 23))).toBe(c.saltHex);
    expect(bytesToHex(w.subarray(23, 35))).toBe(c.wrapIvHex);
    if (c.valueBlobHex !== undefined) {
      expect(c.valueBlobHex.slice(0, 6)).toBe("475601");
      expect(c.valueBlobHex.slice(6, 30)).toBe(c.valueIvHex);
    }
  });
});

describe("encodeContext", () => {
  it("writes sorted, length-prefixed pairs (hand-checked bytes)", () => {
    const expected =
      "0000000d" +
      bytesToHex(utf8Encode("credential_id")) +
      "00000001" +
      "63" +
      "00000009" +
      bytesToHex(utf8Encode("tenant_id")) +
      "00000001" +
      "74" +
      "00000007" +
      bytesToHex(utf8Encode("version")) +
      "00000002" +
      "3432";
    expect(bytesToHex(encodeContext({ tenantId: "t", credentialId: "c", version: 42 }))).toBe(expected);
  });

  it("is injective where naive concatenation is not", () => {
    const a = encodeContext({ tenantId: "ab", credentialId: "c", version: 1 });
    const b = encodeContext({ tenantId: "a", credentialId: "bc", version: 1 });
    const swapped = encodeContext({ tenantId: "c", credentialId: "ab", version: 1 });
    expect(bytesToHex(a)).not.toBe(bytesToHex(b));
    expect(bytesToHex(a)).not.toBe(bytesToHex(swapped));
  });

  it.for([
    { ...CTX, tenantId: "" },
    { ...CTX, credentialId: "" },
    { ...CTX, version: -1 },
    { ...CTX, version: 1.5 },
    { ...CTX, version: Number.NaN },
    { ...CTX, version: 2 ** 53 },
    { ...CTX, tenantId: "t\uD800" },
  ])("refuses a malformed context %j with a plain Error", (ctx) => {
    expect(() => encodeContext(ctx)).toThrow(Error);
  });
});

describe("sealCredentialValue (random)", () => {
  it("uses fresh randomness each call; sizes follow the format", async () => {
    const kek = await kekFromHex(KEK_A_HEX, 1);
    const pt = utf8Encode("same value");
    const a = await sealCredentialValue(pt, kek, CTX);
    const b = await sealCredentialValue(pt, kek, CTX);
    expect(a.valueBlob.length).toBe(pt.length + VALUE_BLOB_OVERHEAD_BYTES);
    expect(a.wrappedDek.length).toBe(WRAPPED_DEK_BYTES);
    // Different value IV, salt and wrap IV; a different DEK shows as a different value ciphertext
    // even if the IVs had collided.
    expect(bytesToHex(a.valueBlob.subarray(3, 15))).not.toBe(bytesToHex(b.valueBlob.subarray(3, 15)));
    expect(bytesToHex(a.wrappedDek.subarray(7))).not.toBe(bytesToHex(b.wrappedDek.subarray(7)));
    expect(await openCredentialValue(a, kek, CTX)).toEqual(pt);
    expect(await openCredentialValue(b, kek, CTX)).toEqual(pt);
  });

  it("refuses a malformed context or KEK version before encrypting", async () => {
    const kek = await kekFromHex(KEK_A_HEX, 1);
    await expect(sealCredentialValue(new Uint8Array(1), kek, { ...CTX, version: -1 })).rejects.toThrow("context");
    await expect(sealCredentialValue(new Uint8Array(1), { ...kek, version: 2 ** 32 }, CTX)).rejects.toThrow(
      "KEK version",
    );
  });
});
