import { describe, expect, it } from "vitest";
import { seededRandom } from "../support/seeded-random";
import { SMALL_INPUT_MAX, sha256Small, withSmallInputs } from "../../../worker/core/crypto/sha256-small";
import { sha256HexSync, sha256Sync } from "../../../worker/core/crypto/sha256-sync";
import { bytesToHex, isHexOf } from "../../../worker/core/crypto/encoding";

const ascii = (s: string) => new TextEncoder().encode(s);
const hex = (b: Uint8Array) => bytesToHex(b);

describe("sha256Small (the audit tree's JavaScript SHA-256 for short inputs)", () => {
  it("gives FIPS 180-4's example digests: empty, one block, and the two-block 448-bit message", () => {
    expect(hex(sha256Small(new Uint8Array(0)))).toBe(
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    );
    expect(hex(sha256Small(ascii("abc")))).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(hex(sha256Small(ascii("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")))).toBe(
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
    );
  });

  it("agrees with node:crypto on every length it takes (0–183 bytes, every padding boundary), 20 inputs each", () => {
    const rand = seededRandom(6962);
    for (let n = 0; n <= SMALL_INPUT_MAX; n++) {
      for (let k = 0; k < 20; k++) {
        const data = Uint8Array.from({ length: n }, () => rand(256));
        expect(hex(sha256Small(data)), `length ${n}`).toBe(sha256HexSync(data));
      }
    }
    // All-ones bytes, where a sign or shift mistake in the word packing would show.
    for (const n of [55, 56, 63, 64, 65, 119, 120, 183]) {
      const data = new Uint8Array(n).fill(0xff);
      expect(hex(sha256Small(data)), `0xff × ${n}`).toBe(sha256HexSync(data));
    }
  });

  it("does not let one call's scratch state leak into the next (a long input, then a short one)", () => {
    const long = new Uint8Array(SMALL_INPUT_MAX).fill(0xab);
    sha256Small(long);
    expect(hex(sha256Small(ascii("abc")))).toBe(sha256HexSync(ascii("abc")));
    // The result is a fresh array each time, not a view of the scratch state.
    const first = sha256Small(ascii("a"));
    sha256Small(ascii("b"));
    expect(hex(first)).toBe(sha256HexSync(ascii("a")));
  });

  it("refuses a longer input; withSmallInputs sends those to the hash it wraps", () => {
    const long = new Uint8Array(SMALL_INPUT_MAX + 1).fill(7);
    expect(() => sha256Small(long)).toThrow(RangeError);
    const calls: number[] = [];
    const wrapped = withSmallInputs((data: Uint8Array) => {
      calls.push(data.length);
      return sha256Sync(data);
    });
    expect(hex(wrapped(long))).toBe(sha256HexSync(long));
    expect(hex(wrapped(new Uint8Array(65)))).toBe(sha256HexSync(new Uint8Array(65)));
    expect(calls).toEqual([SMALL_INPUT_MAX + 1]);
  });
});

describe("isHexOf", () => {
  it("is true only for the exact lowercase hex of the bytes", () => {
    const bytes = Uint8Array.of(0x00, 0x0f, 0xa0, 0xff);
    expect(isHexOf(bytes, "000fa0ff")).toBe(true);
    for (const other of ["000FA0FF", "000fa0fe", "000fa0f", "000fa0ff00", "", "0x0fa0ff"])
      expect(isHexOf(bytes, other), other).toBe(false);
    expect(isHexOf(new Uint8Array(0), "")).toBe(true);
  });
});
