import { z } from "zod";
import { parseVerifierKey, type NoteVerifier } from "../../worker/core/audit/signed-note";
import { createCosigner, cosignerVerifierKey, type Cosigner } from "../../worker/core/audit/cosignature";

/** The witness's bindings (dev/witness/wrangler.toml; WITNESS_SIGNING_KEY is a secret). */
export interface WitnessEnv {
  /** The witness's key name, a schema-less URL such as `witness.example.com/w1`. */
  WITNESS_NAME?: string;
  /** Ed25519 seed, 64 lowercase hex characters. */
  WITNESS_SIGNING_KEY?: string;
  /** JSON array of `{ "prefix": "<origin prefix>", "vkey": "<log vkey>" }`: the logs it witnesses. */
  WITNESS_LOGS?: string;
  WITNESS_LOG: DurableObjectNamespace<import("./witness-log").WitnessLog>;
}

/** One witnessed log: every origin starting with `prefix` is checked against `verifier`. */
export interface TrustedLog {
  readonly prefix: string;
  readonly verifier: NoteVerifier;
}

/** The parsed configuration. */
export interface WitnessConfig {
  readonly cosigner: Cosigner;
  readonly vkey: string;
  readonly logs: readonly TrustedLog[];
}

const Env = z.object({
  WITNESS_NAME: z.string().min(1, "is required"),
  WITNESS_SIGNING_KEY: z.string().regex(/^[0-9a-f]{64}$/, "must be 64 lowercase hex characters (a secret)"),
  WITNESS_LOGS: z.string().min(1, "is required"),
});

// A prefix must end where an origin's path segment does, so `vault/audit` cannot claim `vault/audit-evil/x`.
const Logs = z
  .array(
    z
      .object({
        prefix: z.string().regex(/^[^\s+]+\/$/, "must end with '/' and contain no space or '+'"),
        vkey: z.string(),
      })
      .strict(),
  )
  .min(1)
  .max(100);

/** Why the witness cannot start. */
export class WitnessConfigError extends Error {}

const cache = new WeakMap<object, Promise<WitnessConfig>>();

/** Parses and caches the configuration per env object. @throws WitnessConfigError naming the bad setting. */
export function loadWitnessConfig(env: WitnessEnv): Promise<WitnessConfig> {
  let config = cache.get(env);
  if (!config) {
    config = parse(env);
    cache.set(env, config);
    // A failed parse is not cached: fixing a secret must not need a redeploy of the isolate.
    config.catch(() => cache.delete(env));
  }
  return config;
}

async function parse(env: WitnessEnv): Promise<WitnessConfig> {
  const parsed = Env.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new WitnessConfigError(`witness config: ${issue.path.join(".")} ${issue.message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(parsed.data.WITNESS_LOGS);
  } catch {
    throw new WitnessConfigError("witness config: WITNESS_LOGS is not JSON");
  }
  const logs = Logs.safeParse(raw);
  if (!logs.success) throw new WitnessConfigError(`witness config: WITNESS_LOGS ${logs.error.issues[0]!.message}`);
  const trusted: TrustedLog[] = [];
  for (const { prefix, vkey } of logs.data) {
    const verifier = await parseVerifierKey(vkey);
    if (verifier === null)
      throw new WitnessConfigError(`witness config: WITNESS_LOGS vkey for ${prefix} is not an Ed25519 signed-note key`);
    trusted.push({ prefix, verifier });
  }
  let cosigner: Cosigner;
  try {
    cosigner = await createCosigner(parsed.data.WITNESS_SIGNING_KEY, parsed.data.WITNESS_NAME);
  } catch (error) {
    throw new WitnessConfigError(`witness config: ${error instanceof Error ? error.message : "bad key"}`);
  }
  return { cosigner, vkey: await cosignerVerifierKey(cosigner.name, cosigner.publicKey), logs: trusted };
}

/** The log whose prefix is the longest that `origin` starts with, or undefined. */
export function trustedLogFor(config: WitnessConfig, origin: string): TrustedLog | undefined {
  let best: TrustedLog | undefined;
  for (const log of config.logs) {
    if (
      origin.length > log.prefix.length &&
      origin.startsWith(log.prefix) &&
      (!best || log.prefix.length > best.prefix.length)
    )
      best = log;
  }
  return best;
}
