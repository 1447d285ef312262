import { z } from "zod";

/** Bindings of the emulator Worker (dev/kms/wrangler.toml, `.dev.vars`, or the test pool). */
export interface EmulatorEnv {
  /** The one key this emulator holds, by alias (`alias/...`) or key id. */
  KMS_KEY_ID: string;
  /** The root key, 64 hex characters. Development only: a real KMS never shows its root key. */
  ROOT_KEY: string;
  ACCESS_KEY_ID: string;
  SECRET_ACCESS_KEY: string;
}

/** The emulator's parsed settings, with the root key imported for AES-256-GCM. */
export interface EmulatorConfig {
  keyId: string;
  rootKey: CryptoKey;
  accessKeyId: string;
  secretAccessKey: string;
}

const EnvSchema = z.object({
  KMS_KEY_ID: z.string().min(1),
  ROOT_KEY: z.string().regex(/^[0-9a-fA-F]{64}$/, "must be 64 hex characters"),
  ACCESS_KEY_ID: z.string().min(1),
  SECRET_ACCESS_KEY: z.string().min(16, "must be at least 16 characters"),
});

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
  const raw = new Uint8Array(32);
  for (let i = 0; i < 32; i++) raw[i] = Number.parseInt(parsed.data.ROOT_KEY.slice(2 * i, 2 * i + 2), 16);
  // Non-extractable: nothing in the emulator needs the raw bytes again.
  const rootKey = await crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]);
  return {
    keyId: parsed.data.KMS_KEY_ID,
    rootKey,
    accessKeyId: parsed.data.ACCESS_KEY_ID,
    secretAccessKey: parsed.data.SECRET_ACCESS_KEY,
  };
}
