/**
 * Wycheproof HKDF-SHA256 and HMAC-SHA256 vectors through hkdfSha256 / hmacSha256, plus the other
 * primitives (sha256, timingSafeEqual, randomBytes).
 */
import { describe, expect, it } from "vitest";
import hkdfFile from "../../../../shared/vectors/wycheproof/hkdf_sha256_test.json";
import hmacFile from "../../../../shared/vectors/wycheproof/hmac_sha256_test.json";
import { bytesToHex, hexToBytes, utf8Encode } from "../../../worker/core/crypto/encoding";
import {
  hkdfSha256,
  hkdfSha256AesKey,
  hmacSha256,
  importHkdfKey,
  importHmacKey,
  randomBytes,
  timingSafeEqual,
} from "../../../worker/core/crypto/primitives";
import { sha256 } from "../../../worker/core/crypto/sha256";

interface HkdfCase {
  tcId: number;
  ikm: string;
  salt: string;
  info: string;
  size: number;
  okm: string;
  result: string;
  flags: string[];
}
interface MacCase {
  tcId: number;
  key: string;
  msg: string;
  tag: string;
  result: string;
  flags: string[];
}

const hkdfCases: HkdfCase[] = hkdfFile.testGroups.flatMap((g) => g.tests);
const macCases = hmacFile.testGroups.flatMap((g) =>
  g.tests.map((t): MacCase & { tagSize: number } => ({ ...t, tagSize: g.tagSize })),
);

describe("Wycheproof HKDF-SHA256", () => {
  it("loads all 86 cases (83 valid, 3 invalid)", () => {
    expect(hkdfCases.length).toBe(86);
    expect(hkdfCases.filter((t) => t.result === "invalid").length).toBe(3);
  });

  it.for(hkdfCases)("tcId $tcId ($result, $size bytes) $flags", async (t) => {
    const run = hkdfSha256(hexToBytes(t.ikm), hexToBytes(t.salt), hexToBytes(t.info), t.size);
    if (t.result === "valid") {
      expect(bytesToHex(await run)).toBe(t.okm);
    } else {
      // The only invalid cases ask for more than 255 * HashLen bytes (RFC 5869 §2.3).
      expect(t.flags).toEqual(["SizeTooLarge"]);
      await expect(run).rejects.toThrow("1..8160");
    }
  });

  it("gives the same bytes from a CryptoKey base and derives the same AES key", async () => {
    const t = hkdfCases[0]!;
    const base = await importHkdfKey(hexToBytes(t.ikm));
    expect(base.extractable).toBe(false);
    expect(bytesToHex(await hkdfSha256(base, hexToBytes(t.salt), hexToBytes(t.info), t.size))).toBe(t.okm);
    // hkdfSha256AesKey must equal importing the first 32 HKDF bytes: check by encrypting with both.
    const aesKey = await hkdfSha256AesKey(base, hexToBytes(t.salt), hexToBytes(t.info), ["encrypt"]);
    expect(aesKey.extractable).toBe(false);
    const raw = await hkdfSha256(base, hexToBytes(t.salt), hexToBytes(t.info), 32);
    const viaRaw = await crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt"]);
    const params = { name: "AES-GCM", iv: new Uint8Array(12) };
    const a = new Uint8Array(await crypto.subtle.encrypt(params, aesKey, new Uint8Array(16)));
    const b = new Uint8Array(await crypto.subtle.encrypt(params, viaRaw, new Uint8Array(16)));
    expect(bytesToHex(a)).toBe(bytesToHex(b));
  });

  it.for([0, -1, 1.5, 8161])("refuses output length %s", async (n) => {
    await expect(hkdfSha256(new Uint8Array(32), new Uint8Array(0), new Uint8Array(0), n)).rejects.toThrow("1..8160");
  });
});

describe("Wycheproof HMAC-SHA256", () => {
  it("loads all 174 cases, full and 128-bit truncated tags", () => {
    expect(macCases.length).toBe(174);
    expect(new Set(macCases.map((t) => t.tagSize))).toEqual(new Set([128, 256]));
    expect(macCases.filter((t) => t.result === "invalid").length).toBe(108);
  });

  it.for(macCases)("tcId $tcId ($result, tag $tagSize bits)", async (t) => {
    // The file's tagSize truncates the MAC to its leftmost bits (RFC 2104 §5); compare that prefix.
    const full = await hmacSha256(hexToBytes(t.key), hexToBytes(t.msg));
    expect(full.length).toBe(32);
    const verifies = timingSafeEqual(full.subarray(0, t.tagSize / 8), hexToBytes(t.tag));
    expect(verifies).toBe(t.result === "valid");
  });

  it("signs the same with an imported CryptoKey; refuses an empty key", async () => {
    const t = macCases[0]!;
    const key = await importHmacKey(hexToBytes(t.key));
    expect(key.extractable).toBe(false);
    const tag = await hmacSha256(key, hexToBytes(t.msg));
    expect(bytesToHex(tag.subarray(0, t.tagSize / 8))).toBe(t.tag);
    await expect(importHmacKey(new Uint8Array(0))).rejects.toThrow("empty");
  });
});

describe("sha256, timingSafeEqual, randomBytes", () => {
  it("sha256 matches FIPS 180-2 Appendix B.1 and the empty-string digest", async () => {
    expect(bytesToHex(await sha256(utf8Encode("abc")))).toBe(
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    );
    expect(bytesToHex(await sha256(new Uint8Array(0)))).toBe(
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    );
  });

  it("timingSafeEqual: equal, one bit apart, different lengths, empty", () => {
    const a = hexToBytes("00112233445566778899aabbccddeeff");
    expect(timingSafeEqual(a, a.slice())).toBe(true);
    const b = a.slice();
    b[15]! ^= 1;
    expect(timingSafeEqual(a, b)).toBe(false);
    expect(timingSafeEqual(a, a.subarray(0, 15))).toBe(false);
    expect(timingSafeEqual(new Uint8Array(0), new Uint8Array(0))).toBe(true);
  });

  it("randomBytes: exact lengths (past the 64 KiB getRandomValues quota), distinct, refuses bad n", () => {
    for (const n of [0, 1, 12, 65_536, 65_537, 200_000]) expect(randomBytes(n).length).toBe(n);
    expect(bytesToHex(randomBytes(32))).not.toBe(bytesToHex(randomBytes(32)));
    // The tail beyond the first 64 KiB chunk is filled too (all-zero 1 KiB by chance: 2^-8192).
    expect(
      randomBytes(70_000)
        .subarray(68_976)
        .some((x) => x !== 0),
    ).toBe(true);
    for (const n of [-1, 1.5, Number.NaN]) expect(() => randomBytes(n)).toThrow();
  });
});
