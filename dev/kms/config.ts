import { z } from "zod";

/** Bindings of the emulator Worker (dev/kms/wrangler.toml, `.dev.vars`, or the test pool). */
export interface EmulatorEnv {
  /** The one key this emulator holds, by alias (`alias/...`) or key id. */
  KMS_KEY_ID: string;
  /** The root key, 64 hex characters. Development only: a real KMS never shows its root key. */
  ROOT_KEY: string;
  ACCESS_KEY_ID: string;
  SECRET_ACCESS_KEY: string;
  /**
   * Optional second key (id and 64-hex root key), so a move of the vault to another key id can be
   * rehearsed: tenants' KEKs wrapped under the first, then rewrapped under the second (issue 13 §2).
   */
  SECOND_KEY_ID?: string;
  SECOND_ROOT_KEY?: string;
}

/** One key the emulator holds. */
export interface EmulatorKey {
  keyId: string;
  rootKey: CryptoKey;
}

/** The emulator's parsed settings, with the root key imported for AES-256-GCM. */
export interface EmulatorConfig {
  keyId: string;
  rootKey: CryptoKey;
  /** Every key held: the first is `keyId`/`rootKey`, then the optional second. */
  keys: EmulatorKey[];
  accessKeyId: string;
  secretAccessKey: string;
}

const EnvSchema = z
  .object({
    KMS_KEY_ID: z.string().min(1),
    ROOT_KEY: z.string().regex(/^[0-9a-fA-F]{64}$/, "must be 64 hex characters"),
    ACCESS_KEY_ID: z.string().min(1),
    SECRET_ACCESS_KEY: z.string().min(16, "must be at least 16 characters"),
    SECOND_KEY_ID: z.string().min(1).optional(),
    SECOND_ROOT_KEY: z
      .string()
      .regex(/^[0-9a-fA-F]{64}$/, "must be 64 hex characters")
      .optional(),
  })
  .refine((e) => (e.SECOND_KEY_ID === undefined) === (e.SECOND_ROOT_KEY === undefined), {
    message: "set SECOND_KEY_ID and SECOND_ROOT_KEY together",
    path: ["SECOND_KEY_ID"],
  });

async function importRoot(hex: string): Promise<CryptoKey> {
  const raw = new Uint8Array(32);
  for (let i = 0; i < 32; i++) raw[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  // Non-extractable: nothing in the emulator needs the raw bytes again.
  return crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]);
}

/** A misconfigured emulator: its message names settings, never their values. */
export class EmulatorConfigError extends Error {
  override readonly name = "EmulatorConfigError";
}

/**
 * Wraps an async bindings parser so it runs once per env object: key imports are async, so the
 * promise is cached. Shared by the three emulators.
 */
export function oncePerEnv<E extends object, C>(parse: (env: E) => Promise<C>): (env: E) => Promise<C> {
  const cache = new WeakMap<E, Promise<C>>();
  return (env) => {
    let hit = cache.get(env);
    if (!hit) {
      hit = parse(env);
      cache.set(env, hit);
    }
    return hit;
  };
}

/** Parses the bindings once per env object. */
export const loadEmulatorConfig = oncePerEnv(parse);

async function parse(env: EmulatorEnv): Promise<EmulatorConfig> {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const names = [...new Set(parsed.error.issues.map((i) => i.path.join(".")))];
    throw new EmulatorConfigError(`KMS emulator misconfigured: ${names.join(", ")}`);
  }
  const rootKey = await importRoot(parsed.data.ROOT_KEY);
  const keys: EmulatorKey[] = [{ keyId: parsed.data.KMS_KEY_ID, rootKey }];
  if (parsed.data.SECOND_KEY_ID !== undefined && parsed.data.SECOND_ROOT_KEY !== undefined) {
    keys.push({ keyId: parsed.data.SECOND_KEY_ID, rootKey: await importRoot(parsed.data.SECOND_ROOT_KEY) });
  }
  return {
    keyId: parsed.data.KMS_KEY_ID,
    rootKey,
    keys,
    accessKeyId: parsed.data.ACCESS_KEY_ID,
    secretAccessKey: parsed.data.SECRET_ACCESS_KEY,
  };
}
