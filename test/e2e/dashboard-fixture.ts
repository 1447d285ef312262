import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Browser } from "playwright-core";
import { buildCli, type CliFixture } from "../node/cli/helpers";
import { ROOT } from "../node/support/vault";
import { launchChromium } from "./browser";
import { freePort, killAll, startDev, waitForBanner, type Banner } from "./dev-server-harness";

/** What a dashboard browser test file shares: one dev vault, one Chromium, the bundled CLI. */
export interface DashboardFixture {
  banner: Banner;
  browser: Browser;
  cli: CliFixture;
  /** Closes Chromium, removes the CLI bundle, stops the dev server (by id) and deletes its state. */
  close: () => Promise<void>;
}

/**
 * Starts `npm run dev` on a free port with private state, Chromium and the CLI at once (for a
 * file's beforeAll). If any of the three fails, what did start is stopped before the error is thrown.
 */
export async function startDashboardFixture(name: string): Promise<DashboardFixture> {
  // buildCli bundles into dist/, which a fresh clone does not have yet.
  mkdirSync(path.join(ROOT, "dist"), { recursive: true });
  const dir = mkdtempSync(path.join(tmpdir(), `ghostvault-${name}-e2e-`));
  const server = startDev({
    port: await freePort(),
    persistDir: path.join(dir, "state"),
    stateDir: path.join(dir, "ghostvault"),
  });
  const [banner, browser, cli] = await Promise.allSettled([waitForBanner(server), launchChromium(), buildCli()]);
  const close = async () => {
    if (browser.status === "fulfilled") await browser.value.close();
    if (cli.status === "fulfilled") await cli.value.cleanup();
    await killAll();
    rmSync(dir, { recursive: true, force: true });
  };
  if (banner.status === "rejected" || browser.status === "rejected" || cli.status === "rejected") {
    await close();
    throw [banner, browser, cli].find((r) => r.status === "rejected")!.reason;
  }
  return { banner: banner.value, browser: browser.value, cli: cli.value, close };
}
