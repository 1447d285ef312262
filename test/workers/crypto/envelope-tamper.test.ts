/**
 * Every way a sealed value can be damaged or misplaced fails with the one uniform DecryptionError.
 * Each test first opens the untouched blob (positive control), so a broken fixture cannot pass.
 */
import { describe, expect, it } from "vitest";
import { concatBytes, u32be } from "../../../worker/core/crypto/encoding";
import {
  DecryptionError,
  importTenantKek,
  openCredentialValue,
  rewrapDek,
  sealCredentialValue,
  wrappedDekKekVersion,
  type CredentialContext,
  type SealedCredentialValue,
  type TenantKek,
} from "../../../worker/core/crypto/envelope";
import { CTX, flipBit, kekFromHex, KEK_A_HEX, KEK_B_HEX, outcome, sealedFixture } from "./helpers";

async function expectOpens(sealed: SealedCredentialValue, kek: TenantKek, ctx: CredentialContext, pt: Uint8Array) {
  expect(await openCredentialValue(sealed, kek, ctx)).toEqual(pt);
}

async function expectUniformFailure(p: Promise<unknown>) {
  expect(await outcome(p)).toBe("decryption-error");
}

describe("positive control", () => {
  it("the untouched blob opens, and twice", async () => {
    const { kek, plaintext, sealed } = await sealedFixture();
    await expectOpens(sealed, kek, CTX, plaintext);
    await expectOpens(sealed, kek, CTX, plaintext);
  });
});

describe("bit flips", () => {
  it("flipping any single bit of the value blob fails", async () => {
    const { kek, plaintext, sealed } = await sealedFixture();
    await expectOpens(sealed, kek, CTX, plaintext);
    const bits = sealed.valueBlob.length * 8;
    const results = await Promise.all(
      Array.from({ length: bits }, (_, bit) =>
        outcome(openCredentialValue({ ...sealed, valueBlob: flipBit(sealed.valueBlob, bit) }, kek, CTX)),
      ),
    );
    expect(bits).toBe((3 + 12 + 6 + 16) * 8);
    expect(results.filter((r) => r !== "decryption-error")).toEqual([]);
  });

  it("flipping any single bit of the wrapped DEK fails", async () => {
    const { kek, plaintext, sealed } = await sealedFixture();
    await expectOpens(sealed, kek, CTX, plaintext);
    const bits = sealed.wrappedDek.length * 8;
    const results = await Promise.all(
      Array.from({ length: bits }, (_, bit) =>
        outcome(openCredentialValue({ ...sealed, wrappedDek: flipBit(sealed.wrappedDek, bit) }, kek, CTX)),
      ),
    );
    expect(bits).toBe(83 * 8);
    expect(results.filter((r) => r !== "decryption-error")).toEqual([]);
  });
});

describe("truncation and extension", () => {
  it("truncating either part at every length fails", async () => {
    const { kek, plaintext, sealed } = await sealedFixture();
    await expectOpens(sealed, kek, CTX, plaintext);
    const { valueBlob, wrappedDek } = sealed;
    const attempts = [
      ...Array.from({ length: valueBlob.length }, (_, n) => ({ valueBlob: valueBlob.slice(0, n), wrappedDek })),
      ...Array.from({ length: wrappedDek.length }, (_, n) => ({ valueBlob, wrappedDek: wrappedDek.slice(0, n) })),
    ];
    expect(attempts.length).toBe(valueBlob.length + 83);
    const results = await Promise.all(attempts.map((s) => outcome(openCredentialValue(s, kek, CTX))));
    expect(results.filter((r) => r !== "decryption-error")).toEqual([]);
  });

  it.for([0x00, 0x01, 0xff])("extending either part by one byte (%i) fails", async (byte) => {
    const { kek, plaintext, sealed } = await sealedFixture();
    await expectOpens(sealed, kek, CTX, plaintext);
    const one = Uint8Array.of(byte);
    await expectUniformFailure(
      openCredentialValue({ ...sealed, valueBlob: concatBytes(sealed.valueBlob, one) }, kek, CTX),
    );
    await expectUniformFailure(
      openCredentialValue({ ...sealed, wrappedDek: concatBytes(sealed.wrappedDek, one) }, kek, CTX),
    );
    await expectUniformFailure(
      openCredentialValue({ ...sealed, valueBlob: concatBytes(one, sealed.valueBlob) }, kek, CTX),
    );
  });

  it("swapping the two parts, or pairing with another seal's part, fails", async () => {
    const { kek, plaintext, sealed } = await sealedFixture();
    const other = await sealCredentialValue(plaintext, kek, CTX);
    await expectOpens(sealed, kek, CTX, plaintext);
    await expectOpens(other, kek, CTX, plaintext);
    const swapped = { valueBlob: sealed.wrappedDek, wrappedDek: sealed.valueBlob };
    await expectUniformFailure(openCredentialValue(swapped, kek, CTX));
    await expectUniformFailure(openCredentialValue({ ...sealed, wrappedDek: other.wrappedDek }, kek, CTX));
    await expectUniformFailure(openCredentialValue({ ...sealed, valueBlob: other.valueBlob }, kek, CTX));
  });
});

describe("moved to another row", () => {
  const moves: [string, CredentialContext][] = [
    ["another credential", { ...CTX, credentialId: "cred_02" }],
    ["another version", { ...CTX, version: 2 }],
    ["version 0", { ...CTX, version: 0 }],
    ["another tenant", { ...CTX, tenantId: "t_other" }],
    ["tenant and credential swapped", { tenantId: CTX.credentialId, credentialId: CTX.tenantId, version: 1 }],
    [
      "boundary shifted between ids",
      { tenantId: CTX.tenantId + "c", credentialId: CTX.credentialId.slice(1), version: 1 },
    ],
    ["case-changed credential", { ...CTX, credentialId: "CRED_01" }],
  ];

  it.for(moves)("%s: fails", async ([, ctx]) => {
    const { kek, plaintext, sealed } = await sealedFixture();
    await expectOpens(sealed, kek, CTX, plaintext);
    await expectUniformFailure(openCredentialValue(sealed, kek, ctx));
  });
});

describe("wrong KEK", () => {
  it("another KEK with the same version fails", async () => {
    const { kek, plaintext, sealed } = await sealedFixture();
    await expectOpens(sealed, kek, CTX, plaintext);
    await expectUniformFailure(openCredentialValue(sealed, await kekFromHex(KEK_B_HEX, 1), CTX));
  });

  it("the right key under another KEK version fails (header check)", async () => {
    const { kek, plaintext, sealed } = await sealedFixture();
    await expectOpens(sealed, kek, CTX, plaintext);
    await expectUniformFailure(openCredentialValue(sealed, await kekFromHex(KEK_A_HEX, 2), CTX));
  });

  it("rewriting the header's kek_version to match fails (kek_version is in the AAD)", async () => {
    const { kek, plaintext, sealed } = await sealedFixture();
    await expectOpens(sealed, kek, CTX, plaintext);
    const relabelled = sealed.wrappedDek.slice();
    relabelled.set(u32be(2), 3);
    expect(wrappedDekKekVersion(relabelled)).toBe(2);
    await expectUniformFailure(openCredentialValue({ ...sealed, wrappedDek: relabelled }, { ...kek, version: 2 }, CTX));
  });

  it("a KEK that is not an HKDF key fails uniformly", async () => {
    const { kek, plaintext, sealed } = await sealedFixture();
    await expectOpens(sealed, kek, CTX, plaintext);
    const aes = await crypto.subtle.importKey("raw", new Uint8Array(32), "AES-GCM", false, ["encrypt"]);
    await expectUniformFailure(openCredentialValue(sealed, { version: 1, key: aes }, CTX));
  });
});

describe("the error itself", () => {
  it("has one message for every cause", async () => {
    const { kek, plaintext, sealed } = await sealedFixture();
    await expectOpens(sealed, kek, CTX, plaintext);
    const failures = [
      openCredentialValue({ ...sealed, valueBlob: new Uint8Array(0) }, kek, CTX),
      openCredentialValue({ ...sealed, valueBlob: flipBit(sealed.valueBlob, 0) }, kek, CTX),
      openCredentialValue({ ...sealed, valueBlob: flipBit(sealed.valueBlob, 23) }, kek, CTX),
      openCredentialValue({ ...sealed, wrappedDek: sealed.wrappedDek.slice(1) }, kek, CTX),
      openCredentialValue(sealed, await kekFromHex(KEK_A_HEX, 9), CTX),
      openCredentialValue(sealed, await kekFromHex(KEK_B_HEX, 1), CTX),
      openCredentialValue(sealed, kek, { ...CTX, version: 3 }),
      openCredentialValue(
        { ...sealed, valueBlob: flipBit(sealed.valueBlob, sealed.valueBlob.length * 8 - 1) },
        kek,
        CTX,
      ),
    ];
    const errors = await Promise.all(
      failures.map((p) =>
        p.then(
          () => null,
          (e: unknown) => e,
        ),
      ),
    );
    for (const e of errors) expect(e).toBeInstanceOf(DecryptionError);
    expect(new Set(errors.map((e) => (e as Error).message))).toEqual(new Set(["decryption failed"]));
    expect(new Set(errors.map((e) => Object.keys(e as object).join(",")))).toEqual(new Set(["name"]));
  });

  it("wrappedDekKekVersion: reads a good header, refuses bad ones with DecryptionError", async () => {
    const { sealed } = await sealedFixture();
    expect(wrappedDekKekVersion(sealed.wrappedDek)).toBe(1);
    for (const bad of [
      new Uint8Array(0),
      sealed.wrappedDek.slice(0, 82),
      concatBytes(sealed.wrappedDek, new Uint8Array(1)),
      flipBit(sealed.wrappedDek, 0),
      flipBit(sealed.wrappedDek, 15),
      flipBit(sealed.wrappedDek, 23),
      sealed.valueBlob,
    ]) {
      expect(() => wrappedDekKekVersion(bad)).toThrow(DecryptionError);
    }
  });

  it("a malformed context is a caller bug: plain Error, not DecryptionError", async () => {
    const { kek, plaintext, sealed } = await sealedFixture();
    await expectOpens(sealed, kek, CTX, plaintext);
    for (const ctx of [
      { ...CTX, tenantId: "" },
      { ...CTX, version: -1 },
      { ...CTX, credentialId: "cred\uD800" },
    ]) {
      expect(await outcome(openCredentialValue(sealed, kek, ctx))).toBe("other-error");
      await expect(openCredentialValue(sealed, kek, ctx)).rejects.toThrow(
        /invalid credential context|unpaired surrogate/,
      );
      expect(await outcome(rewrapDek(sealed.wrappedDek, kek, kek, ctx))).toBe("other-error");
    }
  });
});

describe("importTenantKek", () => {
  it("imports a non-extractable HKDF key; refuses other sizes and versions", async () => {
    const kek = await kekFromHex(KEK_A_HEX, 7);
    expect(kek.version).toBe(7);
    expect(kek.key.extractable).toBe(false);
    expect(kek.key.algorithm.name).toBe("HKDF");
    await expect(crypto.subtle.exportKey("raw", kek.key)).rejects.toThrow();
    for (const n of [0, 16, 31, 33, 64])
      await expect(importTenantKek(new Uint8Array(n), 1)).rejects.toThrow("32 bytes");
    for (const v of [-1, 1.5, 2 ** 32, Number.NaN]) {
      await expect(importTenantKek(new Uint8Array(32), v)).rejects.toThrow("KEK version");
    }
  });
});
