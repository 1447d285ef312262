import { describe, expect, it } from "vitest";
import { seededRandom } from "../support/seeded-random";
import { sha256Js, sha256NodeJs, treeSha256Js } from "../../../worker/core/crypto/sha256-js";
import { nodeHash } from "../../../worker/core/audit/merkle";
import { sha256HexSync } from "../../../worker/core/crypto/sha256-sync";
import { bytesToHex, isHexOf } from "../../../worker/core/crypto/encoding";

const ascii = (s: string) => new TextEncoder().encode(s);
const hex = (b: Uint8Array) => bytesToHex(b);

describe("sha256Js (the audit tree's and the audit append's JavaScript SHA-256)", () => {
  it("gives FIPS 180-4's example digests: empty, one block, two blocks, a million 'a'", () => {
    expect(hex(sha256Js(new Uint8Array(0)))).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    expect(hex(sha256Js(ascii("abc")))).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(hex(sha256Js(ascii("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")))).toBe(
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
    );
    expect(hex(sha256Js(new Uint8Array(1_000_000).fill(0x61)))).toBe(
      "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
    );
  });

  it("agrees with node:crypto on every length 0–300 (every padding boundary), 10 seeded inputs each, and on audit-entry sizes", () => {
    const rand = seededRandom(6962);
    const bytes = (n: number) => Uint8Array.from({ length: n }, () => rand(256));
    for (let n = 0; n <= 300; n++)
      for (let k = 0; k < 10; k++) {
        const data = bytes(n);
        expect(hex(sha256Js(data)), `length ${n}`).toBe(sha256HexSync(data));
      }
    for (const n of [511, 512, 513, 601, 1023, 4096, 20_000]) {
      const data = bytes(n);
      expect(hex(sha256Js(data)), `length ${n}`).toBe(sha256HexSync(data));
    }
    // All-ones bytes, where a sign or shift mistake in the word packing would show.
    for (const n of [55, 56, 63, 64, 65, 119, 120, 601]) {
      const data = new Uint8Array(n).fill(0xff);
      expect(hex(sha256Js(data)), `0xff × ${n}`).toBe(sha256HexSync(data));
    }
  });

  it("does not let one call's scratch state leak into the next, and returns a fresh array each time", () => {
    sha256Js(new Uint8Array(200).fill(0xab));
    expect(hex(sha256Js(ascii("abc")))).toBe(sha256HexSync(ascii("abc")));
    const first = sha256Js(ascii("a"));
    sha256Js(ascii("b"));
    expect(hex(first)).toBe(sha256HexSync(ascii("a")));
  });
});

describe("sha256NodeJs (an RFC 6962 interior node without building its input)", () => {
  const rand = seededRandom(9162);
  const hash = () => Uint8Array.from({ length: 32 }, () => rand(256));
  const node = (l: Uint8Array, r: Uint8Array) => sha256HexSync(Uint8Array.of(0x01, ...l, ...r));

  it("is node:crypto's SHA-256 of 0x01 ‖ left ‖ right, for seeded pairs, all-zero and all-ones children", () => {
    for (let k = 0; k < 500; k++) {
      const [l, r] = [hash(), hash()];
      expect(hex(sha256NodeJs(l, r))).toBe(node(l, r));
    }
    for (const b of [0x00, 0xff]) {
      const c = new Uint8Array(32).fill(b);
      expect(hex(sha256NodeJs(c, c)), `0x${b.toString(16)}`).toBe(node(c, c));
    }
  });

  it("leaves no state behind: its prepadded block survives a longer sha256Js, and sha256Js survives it", () => {
    const [l, r] = [hash(), hash()];
    const want = node(l, r);
    sha256Js(new Uint8Array(300).fill(0xab));
    expect(hex(sha256NodeJs(l, r))).toBe(want);
    expect(hex(sha256Js(ascii("abc")))).toBe(sha256HexSync(ascii("abc")));
    expect(hex(sha256NodeJs(l, r))).toBe(want);
  });

  it("is what merkle.ts's nodeHash computes with treeSha256Js, and what it computes with the plain hash", () => {
    const [l, r] = [hash(), hash()];
    expect(hex(nodeHash(treeSha256Js, l, r))).toBe(hex(nodeHash(sha256Js, l, r)));
    expect(hex(treeSha256Js(ascii("abc")))).toBe(sha256HexSync(ascii("abc")));
  });

  it("gives the general hash for children that are not 32 bytes (a damaged stored hash), so the shortcut never changes a result", () => {
    for (const [a, b] of [
      [0, 32],
      [31, 32],
      [32, 33],
      [64, 1],
      [100, 100],
    ] as const) {
      const [l, r] = [Uint8Array.from({ length: a }, () => rand(256)), Uint8Array.from({ length: b }, () => rand(256))];
      expect(hex(sha256NodeJs(l, r)), `${a} + ${b} bytes`).toBe(node(l, r));
    }
    // And the prepadded block is intact afterwards (the general path must not have touched it).
    const [l, r] = [hash(), hash()];
    expect(hex(sha256NodeJs(l, r))).toBe(node(l, r));
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
