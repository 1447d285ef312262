import { unstable_startWorker } from "wrangler";

/** A running emulator Worker and its base URL (no trailing slash). */
export interface RunningEmulator {
  origin: string;
  dispose(): Promise<void>;
}

/**
 * Starts one KMS emulator as `wrangler dev` would (its own wrangler.toml), on a free local port,
 * with `bindings` as plain-text vars and no `.dev.vars` file, as test/node/kms/emulator.test.ts
 * starts the AWS one.
 */
export async function startEmulator(config: string, bindings: Record<string, string>): Promise<RunningEmulator> {
  const worker = await unstable_startWorker({
    config,
    sendMetrics: false,
    envFiles: [],
    bindings: Object.fromEntries(
      Object.entries(bindings).map(([k, value]) => [k, { type: "plain_text", value }] as const),
    ),
    dev: {
      server: { hostname: "127.0.0.1", port: 0 },
      inspector: false,
      persist: false,
      watch: false,
      logLevel: "warn",
    },
  });
  await worker.ready;
  const origin = (await worker.url).origin;
  return { origin, dispose: () => worker.dispose() };
}
