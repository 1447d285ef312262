/** KEK rotation: rewrapDek changes only the wrapped DEK; the value blob stays byte-identical. */
import { describe, expect, it } from "vitest";
import { bytesToHex, hexToBytes } from "../../../worker/core/crypto/encoding";
import {
  openCredentialValue,
  rewrapDek,
  WRAPPED_DEK_BYTES,
  wrappedDekKekVersion,
  type CredentialContext,
} from "../../../worker/core/crypto/envelope";
import golden from "./golden-v1.json";
import { CTX, kekFromHex, KEK_A_HEX, KEK_B_HEX, outcome, sealedFixture } from "./helpers";

describe("rewrapDek", () => {
  it("opens under the new KEK with the untouched value blob, not under the old one", async () => {
    const { kek: oldKek, plaintext, sealed } = await sealedFixture();
    const newKek = await kekFromHex(KEK_B_HEX, 2);
    const blobBefore = bytesToHex(sealed.valueBlob);
    const rewrapped = await rewrapDek(sealed.wrappedDek, oldKek, newKek, CTX);

    expect(rewrapped.length).toBe(WRAPPED_DEK_BYTES);
    expect(wrappedDekKekVersion(rewrapped)).toBe(2);
    expect(bytesToHex(sealed.valueBlob)).toBe(blobBefore);
    expect(await openCredentialValue({ valueBlob: sealed.valueBlob, wrappedDek: rewrapped }, newKek, CTX)).toEqual(
      plaintext,
    );
    // Positive control for the denials below: the old pair still opens under the old KEK.
    expect(await openCredentialValue(sealed, oldKek, CTX)).toEqual(plaintext);

    const withNew = { valueBlob: sealed.valueBlob, wrappedDek: rewrapped };
    expect(await outcome(openCredentialValue(withNew, oldKek, CTX))).toBe("decryption-error");
    expect(await outcome(openCredentialValue(withNew, { ...oldKek, version: 2 }, CTX))).toBe("decryption-error");
    expect(await outcome(openCredentialValue(sealed, newKek, CTX))).toBe("decryption-error");
  });

  it("uses a fresh salt and IV each time", async () => {
    const { kek, sealed } = await sealedFixture();
    const to = await kekFromHex(KEK_B_HEX, 2);
    const a = await rewrapDek(sealed.wrappedDek, kek, to, CTX);
    const b = await rewrapDek(sealed.wrappedDek, kek, to, CTX);
    expect(bytesToHex(a.subarray(7, 35))).not.toBe(bytesToHex(b.subarray(7, 35)));
  });

  it("refuses with DecryptionError when the wrapped DEK does not open under `from` for this context", async () => {
    const { kek, plaintext, sealed } = await sealedFixture();
    const to = await kekFromHex(KEK_B_HEX, 2);
    expect(await openCredentialValue(sealed, kek, CTX)).toEqual(plaintext);
    const wrongFrom = await kekFromHex(KEK_B_HEX, 1);
    const otherCtx: CredentialContext = { ...CTX, credentialId: "cred_02" };
    expect(await outcome(rewrapDek(sealed.wrappedDek, wrongFrom, to, CTX))).toBe("decryption-error");
    expect(await outcome(rewrapDek(sealed.wrappedDek, kek, to, otherCtx))).toBe("decryption-error");
    expect(await outcome(rewrapDek(sealed.wrappedDek.slice(1), kek, to, CTX))).toBe("decryption-error");
    await expect(rewrapDek(sealed.wrappedDek, kek, { ...to, version: -1 }, CTX)).rejects.toThrow("KEK version");
  });

  it("rewraps a frozen golden vector; its frozen value blob opens under the new KEK", async () => {
    const c = golden.cases[1]!;
    const ctx = { tenantId: c.tenantId, credentialId: c.credentialId, version: c.version };
    const from = await kekFromHex(c.kekHex, c.kekVersion);
    const to = await kekFromHex(KEK_A_HEX, c.kekVersion + 1);
    const valueBlob = hexToBytes(c.valueBlobHex!);
    const wrappedDek = await rewrapDek(hexToBytes(c.wrappedDekHex), from, to, ctx);
    expect(bytesToHex(await openCredentialValue({ valueBlob, wrappedDek }, to, ctx))).toBe(c.plaintextHex);
    expect(bytesToHex(valueBlob)).toBe(c.valueBlobHex);
  });
});
