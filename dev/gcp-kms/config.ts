import { z } from "zod";
import { oncePerEnv } from "../kms/config";
import { base64ToBytes, hexToBytes } from "../../worker/core/crypto/encoding";

/** Bindings of the Cloud KMS emulator (dev/gcp-kms/wrangler.toml, its `.dev.vars`, or the test pool). */
export interface GcpEmulatorEnv {
  /** The one key it holds: `projects/P/locations/L/keyRings/R/cryptoKeys/K`. */
  KEY_NAME: string;
  /** The root key, 64 hex characters. Development only. */
  ROOT_KEY: string;
  /** Optionally a second key and its root key, to test a move to another key name (root-key rotation). */
  SECOND_KEY_NAME?: string;
  SECOND_ROOT_KEY?: string;
  /** The service account allowed to get tokens, and its public key (SPKI, base64 DER). */
  SA_CLIENT_EMAIL: string;
  SA_PUBLIC_KEY: string;
  /** Guards `/__control/*`. */
  CONTROL_SECRET: string;
}

/** Parsed settings with the keys imported. */
export interface GcpEmulatorConfig {
  /** Each key name it holds, and that key's root key. */
  keys: Map<string, CryptoKey>;
  clientEmail: string;
  publicKey: CryptoKey;
  controlSecret: string;
}

const KeyName = z.string().regex(/^projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+\/cryptoKeys\/[^/]+$/);
const RootKey = z.string().regex(/^[0-9a-fA-F]{64}$/, "must be 64 hex characters");
const EnvSchema = z.object({
  KEY_NAME: KeyName,
  ROOT_KEY: RootKey,
  SECOND_KEY_NAME: KeyName.optional(),
  SECOND_ROOT_KEY: RootKey.optional(),
  SA_CLIENT_EMAIL: z.string().min(3),
  SA_PUBLIC_KEY: z.string().min(100),
  CONTROL_SECRET: z.string().min(16),
});

/** Parses the bindings once per env object; a bad one rejects naming settings, never values. */
export const loadGcpEmulatorConfig = oncePerEnv(parse);

async function parse(env: GcpEmulatorEnv): Promise<GcpEmulatorConfig> {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    throw new Error(
      `Cloud KMS emulator misconfigured: ${[...new Set(parsed.error.issues.map((i) => i.path.join(".")))].join(", ")}`,
    );
  }
  const c = parsed.data;
  if ((c.SECOND_KEY_NAME === undefined) !== (c.SECOND_ROOT_KEY === undefined) || c.SECOND_KEY_NAME === c.KEY_NAME) {
    throw new Error("Cloud KMS emulator misconfigured: SECOND_KEY_NAME, SECOND_ROOT_KEY");
  }
  const importRoot = (hex: string) =>
    crypto.subtle.importKey("raw", hexToBytes(hex), "AES-GCM", false, ["encrypt", "decrypt"]);
  const keys = new Map([[c.KEY_NAME, await importRoot(c.ROOT_KEY)]]);
  if (c.SECOND_KEY_NAME && c.SECOND_ROOT_KEY) keys.set(c.SECOND_KEY_NAME, await importRoot(c.SECOND_ROOT_KEY));
  return {
    keys,
    clientEmail: c.SA_CLIENT_EMAIL,
    publicKey: await crypto.subtle.importKey(
      "spki",
      base64ToBytes(c.SA_PUBLIC_KEY),
      { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
      false,
      ["verify"],
    ),
    controlSecret: c.CONTROL_SECRET,
  };
}
