/** Strict encoders/decoders: RFC 4648 §10 vectors, round trips, and the aliases that must be refused. */
import { describe, expect, it } from "vitest";
import {
  base64ToBytes,
  base64urlToBytes,
  bytesToBase64,
  bytesToBase64url,
  bytesToHex,
  concatBytes,
  decodeOrNull,
  hexToBytes,
  readU32be,
  u32be,
  utf8Decode,
  utf8Encode,
} from "../../../worker/core/crypto/encoding";
import { sha256Hex } from "../../../worker/core/crypto/sha256";
import { sha256HexSync } from "../../../worker/core/crypto/sha256-sync";

const ascii = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

// RFC 4648 §10: BASE64 and BASE16 (upper case there; this module writes lower case).
const RFC4648 = [
  ["", "", ""],
  ["f", "Zg==", "66"],
  ["fo", "Zm8=", "666F"],
  ["foo", "Zm9v", "666F6F"],
  ["foob", "Zm9vYg==", "666F6F62"],
  ["fooba", "Zm9vYmE=", "666F6F6261"],
  ["foobar", "Zm9vYmFy", "666F6F626172"],
] as const;

describe("base64 / base64url / hex", () => {
  it.for(RFC4648)("RFC 4648 §10: %j", ([plain, b64, b16]) => {
    const bytes = ascii(plain);
    expect(bytesToBase64(bytes)).toBe(b64);
    expect(base64ToBytes(b64)).toEqual(bytes);
    expect(bytesToBase64url(bytes)).toBe(b64.replace(/=+$/, ""));
    expect(base64urlToBytes(b64.replace(/=+$/, ""))).toEqual(bytes);
    expect(bytesToHex(bytes)).toBe(b16.toLowerCase());
    expect(hexToBytes(b16)).toEqual(bytes);
  });

  it("round-trips every byte value at every length 0..67 and uses the URL-safe alphabet", () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    for (let n = 0; n < 68; n++) {
      const b = all.subarray(256 - n);
      expect(base64ToBytes(bytesToBase64(b))).toEqual(b);
      expect(base64urlToBytes(bytesToBase64url(b))).toEqual(b);
      expect(hexToBytes(bytesToHex(b))).toEqual(b);
    }
    expect(bytesToBase64(Uint8Array.of(0xfb, 0xff))).toBe("+/8=");
    expect(bytesToBase64url(Uint8Array.of(0xfb, 0xff))).toBe("-_8");
    expect(bytesToHex(Uint8Array.of(0, 0xab, 0xff))).toBe("00abff");
    expect(hexToBytes("00ABff")).toEqual(Uint8Array.of(0, 0xab, 0xff));
  });

  it.for(["Zg", "Zg=", "Zm9vY", "Zh==", "Zm9=", "Zg==\n", " Zg==", "Zm 9v", "Zg==Zg==", "-_8=", "Z===", "===="])(
    "base64 refuses %j with a plain Error",
    (bad) => {
      expect(() => base64ToBytes(bad)).toThrow(Error);
      expect(() => base64ToBytes(bad)).toThrow("invalid base64");
    },
  );

  it.for(["Zg==", "Zg=", "+/8", "Zh", "Zm9", "Z", "Zm9v\n", "Zm9v YmFy"])("base64url refuses %j", (bad) => {
    expect(() => base64urlToBytes(bad)).toThrow("invalid base64url");
  });

  it.for(["0", "abc", "zz", "0x00", " 00", "00 ", "0g", "é0"])("hex refuses %j", (bad) => {
    expect(() => hexToBytes(bad)).toThrow("invalid hex");
  });
});

describe("utf8", () => {
  it("round-trips well-formed text, including astral characters and a BOM", () => {
    for (const s of ["", "abc", "pässwörd", "密码 🔑", "\uFEFFbom"]) expect(utf8Decode(utf8Encode(s))).toBe(s);
    expect(bytesToHex(utf8Encode("é🔑"))).toBe("c3a9f09f9491");
  });

  it.for(["\uD800", "a\uDC00", "\uDC00\uD800", "x\uD83D"])("encode refuses unpaired surrogates in %j", (s) => {
    expect(() => utf8Encode(s)).toThrow("unpaired surrogate");
  });

  it.for(["ff", "c080", "eda080", "f4908080", "e282", "80"])("decode refuses malformed UTF-8 %s", (h) => {
    expect(() => utf8Decode(hexToBytes(h))).toThrow("invalid utf-8");
  });
});

describe("concatBytes, u32be, readU32be", () => {
  it("concatenates in order, copying", () => {
    const a = Uint8Array.of(1, 2);
    const out = concatBytes(a, new Uint8Array(0), Uint8Array.of(3));
    expect(out).toEqual(Uint8Array.of(1, 2, 3));
    a[0] = 9;
    expect(out[0]).toBe(1);
    expect(concatBytes()).toEqual(new Uint8Array(0));
  });

  it("encodes big-endian and reads back", () => {
    expect(bytesToHex(u32be(0))).toBe("00000000");
    expect(bytesToHex(u32be(0x01020304))).toBe("01020304");
    expect(bytesToHex(u32be(0xffffffff))).toBe("ffffffff");
    const buf = concatBytes(Uint8Array.of(9), u32be(0xdeadbeef));
    expect(readU32be(buf.subarray(1), 0)).toBe(0xdeadbeef);
    expect(readU32be(buf, 1)).toBe(0xdeadbeef);
    expect(() => readU32be(buf, 2)).toThrow("out of bounds");
  });

  it.for([-1, 2 ** 32, 1.5, Number.NaN, Number.POSITIVE_INFINITY])("u32be refuses %s", (n) => {
    expect(() => u32be(n)).toThrow("u32 out of range");
  });
});

describe("decodeOrNull and the two SHA-256 helpers", () => {
  it("decodeOrNull gives the strict decoder's bytes for canonical input and null for every alias it refuses", () => {
    expect(decodeOrNull(base64ToBytes, "Zm9vYg==")).toEqual(ascii("foob"));
    expect(decodeOrNull(base64urlToBytes, "-_8")).toEqual(Uint8Array.of(0xfb, 0xff));
    for (const alias of ["Zm9vYg", "Zm9vYh==", "Zm9v\nYg==", " Zm9vYg=="])
      expect(decodeOrNull(base64ToBytes, alias)).toBeNull();
    for (const alias of ["-_8=", "+/8", "-_9"]) expect(decodeOrNull(base64urlToBytes, alias)).toBeNull();
    expect(decodeOrNull(hexToBytes, "0g")).toBeNull();
  });

  it("WebCrypto sha256Hex and node:crypto sha256HexSync agree on bytes and strings, lone surrogates included", async () => {
    // FIPS 180-4 example "abc".
    const abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    expect(await sha256Hex("abc")).toBe(abc);
    expect(sha256HexSync(ascii("abc"))).toBe(abc);
    for (const text of ["", "naïve 😀", "\uD800 lone", "x\uDC00"])
      expect(await sha256Hex(text)).toBe(sha256HexSync(text));
  });
});
