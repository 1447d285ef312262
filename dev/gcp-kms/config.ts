import { z } from "zod";
import { oncePerEnv } from "../kms/config";
import { base64ToBytes, hexToBytes } from "../../worker/core/crypto/encoding";

/** Bindings of the Cloud KMS emulator (dev/gcp-kms/wrangler.toml, its `.dev.vars`, or the test pool). */
export interface GcpEmulatorEnv {
  /** The one key it holds: `projects/P/locations/L/keyRings/R/cryptoKeys/K`. */
  KEY_NAME: string;
  /** The root key, 64 hex characters. Development only. */
  ROOT_KEY: string;
  /** The service account allowed to get tokens, and its public key (SPKI, base64 DER). */
  SA_CLIENT_EMAIL: string;
  SA_PUBLIC_KEY: string;
  /** Guards `/__control/*`. */
  CONTROL_SECRET: string;
}

/** Parsed settings with the keys imported. */
export interface GcpEmulatorConfig {
  keyName: string;
  rootKey: CryptoKey;
  clientEmail: string;
  publicKey: CryptoKey;
  controlSecret: string;
}

const EnvSchema = z.object({
  KEY_NAME: z.string().regex(/^projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+\/cryptoKeys\/[^/]+$/),
  ROOT_KEY: z.string().regex(/^[0-9a-fA-F]{64}$/, "must be 64 hex characters"),
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
  const raw = hexToBytes(c.ROOT_KEY);
  return {
    keyName: c.KEY_NAME,
    rootKey: await crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]),
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
