/**
 * SHA-256 (FIPS 180-4) in plain JavaScript, synchronous, for public data hashed where workerd's
 * node:crypto costs more per call than the hashing: the audit Merkle tree's interior nodes
 * (SHA-256(0x01 ‖ left ‖ right), 65 bytes, a million of them per million entries) and the audit
 * append's one entry hash per call.
 *
 * Why not node:crypto: in workerd `createHash` is a polyfill that builds a Transform stream per
 * call. In a verify loop that is 2.4 µs or more per hash before a byte is hashed, against under
 * 1 µs for a 65-byte node here; on the lease path a CPU profile gave the append's one
 * `createHash` 5.0% of the object's samples and this function 0.6% (bench/results/notes.md,
 * issue 16). WebCrypto's digest would need an await, which a `transactionSync` append cannot make.
 *
 * Only for public data (audit entries and tree hashes, published in exports and proofs): nothing
 * here is constant-time. Checked against FIPS 180-4's examples, including a million "a", and
 * against node:crypto for every length 0–300 (test/workers/crypto/sha256-js.test.ts).
 */

import { concatBytes } from "./encoding";

// FIPS 180-4 §4.2.2 and §5.3.3, stored as signed 32-bit words (Int32Array wraps them).
const K = Int32Array.of(
  0x428a2f98,
  0x71374491,
  0xb5c0fbcf,
  0xe9b5dba5,
  0x3956c25b,
  0x59f111f1,
  0x923f82a4,
  0xab1c5ed5,
  0xd807aa98,
  0x12835b01,
  0x243185be,
  0x550c7dc3,
  0x72be5d74,
  0x80deb1fe,
  0x9bdc06a7,
  0xc19bf174,
  0xe49b69c1,
  0xefbe4786,
  0x0fc19dc6,
  0x240ca1cc,
  0x2de92c6f,
  0x4a7484aa,
  0x5cb0a9dc,
  0x76f988da,
  0x983e5152,
  0xa831c66d,
  0xb00327c8,
  0xbf597fc7,
  0xc6e00bf3,
  0xd5a79147,
  0x06ca6351,
  0x14292967,
  0x27b70a85,
  0x2e1b2138,
  0x4d2c6dfc,
  0x53380d13,
  0x650a7354,
  0x766a0abb,
  0x81c2c92e,
  0x92722c85,
  0xa2bfe8a1,
  0xa81a664b,
  0xc24b8b70,
  0xc76c51a3,
  0xd192e819,
  0xd6990624,
  0xf40e3585,
  0x106aa070,
  0x19a4c116,
  0x1e376c08,
  0x2748774c,
  0x34b0bcb5,
  0x391c0cb3,
  0x4ed8aa4a,
  0x5b9cca4f,
  0x682e6ff3,
  0x748f82ee,
  0x78a5636f,
  0x84c87814,
  0x8cc70208,
  0x90befffa,
  0xa4506ceb,
  0xbef9a3f7,
  0xc67178f2,
);

const INITIAL = Int32Array.of(
  0x6a09e667,
  0xbb67ae85,
  0x3c6ef372,
  0xa54ff53a,
  0x510e527f,
  0x9b05688c,
  0x1f83d9ab,
  0x5be0cd19,
);

// Scratch state, reused: the functions below run to completion without yielding. W is the
// message schedule as a ring of 16 words, each round computing the word it needs.
const W = new Int32Array(16);
const H = new Int32Array(8);
/** The padded last block or two. */
const tail = new Uint8Array(128);

function compress(m: Uint8Array, at: number): void {
  for (let i = 0; i < 16; i++) {
    const o = at + 4 * i;
    W[i] = (m[o]! << 24) | (m[o + 1]! << 16) | (m[o + 2]! << 8) | m[o + 3]!;
  }
  let a = H[0]!;
  let b = H[1]!;
  let c = H[2]!;
  let d = H[3]!;
  let e = H[4]!;
  let f = H[5]!;
  let g = H[6]!;
  let h = H[7]!;
  for (let i = 0; i < 64; i++) {
    let w = W[i & 15]!;
    if (i >= 16) {
      const x = W[(i - 15) & 15]!;
      const y = W[(i - 2) & 15]!;
      const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
      const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
      w = (w + s0 + W[(i - 7) & 15]! + s1) | 0;
      W[i & 15] = w;
    }
    // Ch(e, f, g) and Maj(a, b, c) in the equivalent forms with one operation fewer each.
    const t1 =
      (h +
        (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) +
        (g ^ (e & (f ^ g))) +
        K[i]! +
        w) |
      0;
    const t2 =
      ((((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) + ((a & b) | (c & (a | b)))) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  H[0] = (H[0]! + a) | 0;
  H[1] = (H[1]! + b) | 0;
  H[2] = (H[2]! + c) | 0;
  H[3] = (H[3]! + d) | 0;
  H[4] = (H[4]! + e) | 0;
  H[5] = (H[5]! + f) | 0;
  H[6] = (H[6]! + g) | 0;
  H[7] = (H[7]! + h) | 0;
}

/** The state as 32 big-endian bytes. */
function digest(): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 8; i++) {
    const v = H[i]!;
    out[4 * i] = v >>> 24;
    out[4 * i + 1] = v >>> 16;
    out[4 * i + 2] = v >>> 8;
    out[4 * i + 3] = v;
  }
  return out;
}

/** SHA-256 of `data`. */
export function sha256Js(data: Uint8Array): Uint8Array {
  const n = data.length;
  H.set(INITIAL);
  const full = n - (n % 64);
  for (let at = 0; at < full; at += 64) compress(data, at);
  // Padding (FIPS 180-4 §5.1.1): the rest, 0x80, zeros, then the length in bits as a 64-bit
  // big-endian number (its high word is n / 2^29: n can exceed 2^32 / 8).
  const rest = n - full;
  const end = rest + 9 <= 64 ? 64 : 128;
  tail.fill(0, 0, end);
  tail.set(data.subarray(full));
  tail[rest] = 0x80;
  const high = Math.floor(n / 2 ** 29);
  const low = (n * 8) >>> 0;
  for (let i = 0; i < 4; i++) {
    tail[end - 8 + i] = high >>> (24 - 8 * i);
    tail[end - 4 + i] = low >>> (24 - 8 * i);
  }
  for (let at = 0; at < end; at += 64) compress(tail, at);
  return digest();
}

const NODE_PREFIX = Uint8Array.of(0x01);

/**
 * 0x01 ‖ left ‖ right with its padding already in place (65 bytes: 0x80 at 65, the length 520
 * bits in the last two bytes): an interior node only copies its two children in.
 */
const node = new Uint8Array(128);
node[0] = 0x01;
node[65] = 0x80;
node[126] = 0x02;
node[127] = 0x08;

/**
 * An RFC 6962 interior node, SHA-256(0x01 ‖ left ‖ right): the same hash as `sha256Js` of those
 * bytes. For two 32-byte hashes (every node of a sound tree) without building and padding the
 * input per call, which in a verify loop cost more than the two compressions
 * (bench/results/notes.md, issue 16). Any other length, such as a damaged stored hash, takes the
 * general path, so the shortcut never changes a result: a damaged tree still shows as a root
 * that does not match, where the caller reports it.
 */
export function sha256NodeJs(left: Uint8Array, right: Uint8Array): Uint8Array {
  if (left.length !== 32 || right.length !== 32) return sha256Js(concatBytes(NODE_PREFIX, left, right));
  node.set(left, 1);
  node.set(right, 33);
  H.set(INITIAL);
  compress(node, 0);
  compress(node, 64);
  return digest();
}

/** `sha256Js` with its interior-node shortcut, as the audit Merkle tree takes it (merkle.ts `Sha256`). */
export const treeSha256Js: ((data: Uint8Array) => Uint8Array) & {
  readonly node: (left: Uint8Array, right: Uint8Array) => Uint8Array;
} = Object.assign((data: Uint8Array) => sha256Js(data), { node: sha256NodeJs });
