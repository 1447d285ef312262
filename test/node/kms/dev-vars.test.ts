import { createPublicKey } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ensureDevVars, ensureProviderDevVars, readDevVars } from "../../../dev/dev-vars.mjs";

/** `GHOSTVAULT_KMS=gcp|azure npm run dev` secrets: the vault's half and the emulator's half must match. */

const roots: string[] = [];
function freshRoot(): string {
  const root = mkdtempSync(path.join(tmpdir(), "gv-devvars-"));
  roots.push(root);
  for (const dir of ["dev/kms", "dev/gcp-kms", "dev/azure-kv"]) mkdirSync(path.join(root, dir), { recursive: true });
  ensureDevVars(root);
  return root;
}

afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

describe("ensureProviderDevVars", () => {
  it("gcp: the emulator's SA_PUBLIC_KEY is the public half of the vault's service-account key, and a rerun keeps both", () => {
    const root = freshRoot();
    expect(ensureProviderDevVars(root, "gcp")).toEqual([path.join(root, "dev/gcp-kms/.dev.vars")]);
    const vault = readDevVars(path.join(root, ".dev.vars"));
    const emulator = readDevVars(path.join(root, "dev/gcp-kms/.dev.vars"));
    const account = JSON.parse(vault.KMS_GCP_SERVICE_ACCOUNT!);
    expect(createPublicKey(account.private_key).export({ type: "spki", format: "der" }).toString("base64")).toBe(
      emulator.SA_PUBLIC_KEY,
    );
    expect(ensureProviderDevVars(root, "gcp")).toEqual([]);
    expect(readDevVars(path.join(root, ".dev.vars")).KMS_GCP_SERVICE_ACCOUNT).toBe(vault.KMS_GCP_SERVICE_ACCOUNT);
  });

  it("gcp: refuses an emulator file whose private half is gone, rather than pairing it with a new key", () => {
    const root = freshRoot();
    writeFileSync(path.join(root, "dev/gcp-kms/.dev.vars"), "ROOT_KEY=00\n");
    expect(() => ensureProviderDevVars(root, "gcp")).toThrow(/lacks KMS_GCP_SERVICE_ACCOUNT/);
  });

  it("azure: one client secret in both files; a mismatch is refused", () => {
    const root = freshRoot();
    ensureProviderDevVars(root, "azure");
    const secret = readDevVars(path.join(root, ".dev.vars")).KMS_AZURE_CLIENT_SECRET;
    expect(secret).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(readDevVars(path.join(root, "dev/azure-kv/.dev.vars")).CLIENT_SECRET).toBe(secret);
    writeFileSync(path.join(root, "dev/azure-kv/.dev.vars"), "CLIENT_SECRET=something-else\n");
    expect(() => ensureProviderDevVars(root, "azure")).toThrow(/must equal/);
  });
});
