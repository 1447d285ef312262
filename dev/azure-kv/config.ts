import { z } from "zod";
import { oncePerEnv } from "../kms/config";
import { base64ToBytes, bytesToHex, hexToBytes } from "../../worker/core/crypto/encoding";

/** Bindings of the Key Vault emulator (dev/azure-kv/wrangler.toml, its `.dev.vars`, or the test pool). */
export interface AzureEmulatorEnv {
  /** Name of its RSA key (RSA-OAEP-256, RSA-OAEP). */
  KEY_NAME: string;
  /** Name of its Managed-HSM-style AES key (A256KW). */
  OCT_KEY_NAME: string;
  /** The RSA private key, PKCS#8 DER in base64. Development only. */
  RSA_PRIVATE_KEY: string;
  /** Optionally a second RSA key and its name, to test a move to another key (root-key rotation). */
  SECOND_KEY_NAME?: string;
  SECOND_RSA_PRIVATE_KEY?: string;
  /** The AES key, 64 hex characters. Development only. */
  OCT_KEY: string;
  /** The Entra directory and app registration allowed to get tokens. */
  TENANT_ID: string;
  CLIENT_ID: string;
  CLIENT_SECRET: string;
  /** Guards `/__control/*`. */
  CONTROL_SECRET: string;
}

/** An RSA key's imported halves and public parameters. */
export interface EmulatedRsa {
  oaep256: CryptoKey;
  oaep1: CryptoKey;
  public256: CryptoKey;
  public1: CryptoKey;
  n: string;
  e: string;
}

/** One key the emulator holds. */
export interface EmulatedKey {
  kty: "RSA" | "oct-HSM";
  /** Stable across restarts: derived from the key material. */
  version: string;
  algorithms: readonly string[];
  /** The RSA material (kty RSA). */
  rsa?: EmulatedRsa;
}

/** Parsed settings with keys imported. */
export interface AzureEmulatorConfig {
  keys: Map<string, EmulatedKey>;
  oct: CryptoKey;
  tenantId: string;
  clientId: string;
  clientSecret: string;
  controlSecret: string;
}

const EnvSchema = z.object({
  KEY_NAME: z.string().regex(/^[A-Za-z0-9-]{1,100}$/),
  OCT_KEY_NAME: z.string().regex(/^[A-Za-z0-9-]{1,100}$/),
  RSA_PRIVATE_KEY: z.string().min(100),
  SECOND_KEY_NAME: z
    .string()
    .regex(/^[A-Za-z0-9-]{1,100}$/)
    .optional(),
  SECOND_RSA_PRIVATE_KEY: z.string().min(100).optional(),
  OCT_KEY: z.string().regex(/^[0-9a-fA-F]{64}$/, "must be 64 hex characters"),
  TENANT_ID: z.string().min(1),
  CLIENT_ID: z.string().min(1),
  CLIENT_SECRET: z.string().min(16),
  CONTROL_SECRET: z.string().min(16),
});

/** Parses the bindings once per env object; a bad one rejects naming settings, never values. */
export const loadAzureEmulatorConfig = oncePerEnv(parse);

async function parse(env: AzureEmulatorEnv): Promise<AzureEmulatorConfig> {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    throw new Error(
      `Key Vault emulator misconfigured: ${[...new Set(parsed.error.issues.map((i) => i.path.join(".")))].join(", ")}`,
    );
  }
  const c = parsed.data;
  if ((c.SECOND_KEY_NAME === undefined) !== (c.SECOND_RSA_PRIVATE_KEY === undefined)) {
    throw new Error("Key Vault emulator misconfigured: SECOND_KEY_NAME, SECOND_RSA_PRIVATE_KEY");
  }
  const rsaKey = async (privateKey: string): Promise<EmulatedKey> => {
    const rsa = await importRsa(privateKey);
    const version = await versionOf(new TextEncoder().encode(rsa.n));
    return { kty: "RSA", version, algorithms: ["RSA-OAEP-256", "RSA-OAEP"], rsa };
  };
  const octRaw = hexToBytes(c.OCT_KEY);
  const oct = await crypto.subtle.importKey("raw", octRaw, "AES-KW", false, ["wrapKey", "unwrapKey"]);
  const keys = new Map<string, EmulatedKey>([
    [c.KEY_NAME, await rsaKey(c.RSA_PRIVATE_KEY)],
    [c.OCT_KEY_NAME, { kty: "oct-HSM", version: await versionOf(octRaw), algorithms: ["A256KW"] }],
  ]);
  if (c.SECOND_KEY_NAME && c.SECOND_RSA_PRIVATE_KEY)
    keys.set(c.SECOND_KEY_NAME, await rsaKey(c.SECOND_RSA_PRIVATE_KEY));
  return {
    keys,
    oct,
    tenantId: c.TENANT_ID,
    clientId: c.CLIENT_ID,
    clientSecret: c.CLIENT_SECRET,
    controlSecret: c.CONTROL_SECRET,
  };
}

/** Imports an RSA private key (PKCS#8 DER, base64) for RSA-OAEP with SHA-256 and SHA-1. */
async function importRsa(base64Der: string): Promise<EmulatedRsa> {
  const der = base64ToBytes(base64Der);
  const importPrivate = (hash: string) =>
    crypto.subtle.importKey("pkcs8", der, { name: "RSA-OAEP", hash }, true, ["decrypt"]);
  const [oaep256, oaep1] = await Promise.all([importPrivate("SHA-256"), importPrivate("SHA-1")]);
  const jwk = (await crypto.subtle.exportKey("jwk", oaep256)) as JsonWebKey;
  const importPublic = (hash: string) =>
    crypto.subtle.importKey("jwk", { kty: "RSA", n: jwk.n, e: jwk.e, ext: true }, { name: "RSA-OAEP", hash }, false, [
      "encrypt",
    ]);
  return {
    oaep256,
    oaep1,
    public256: await importPublic("SHA-256"),
    public1: await importPublic("SHA-1"),
    n: jwk.n ?? "",
    e: jwk.e ?? "",
  };
}

/** A 32-hex-digit version id, as Key Vault's look, fixed by the key material. */
async function versionOf(material: Uint8Array): Promise<string> {
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", concat(new TextEncoder().encode("version"), material)),
  );
  return bytesToHex(digest.subarray(0, 16));
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
